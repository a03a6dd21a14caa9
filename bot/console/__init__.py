"""The web console for HR, leaders and the change team: sign-in through Slack, server-rendered
pages (Starlette + Jinja2), charts as SVG. It reads and acts only through domain services
handed in as `ConsoleDeps`; `build_console(deps)` makes the ASGI app."""
