"""Server-side SVG charts: well-formed, escaped, readable without colour (line styles,
marker shapes, values as text, the barrier stage hatched and named)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from bot.console import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))


def test_a_line_chart_names_each_line_and_tells_them_apart_without_colour():
    svg = _parse(
        charts.line_chart(
            ["2026-11-03", "<b>x</b>", "2026-12-01"],
            [
                charts.Series("Resistance", [40, 45, None], "#b42318", "", "circle"),
                charts.Series("Confidence", [50, 55, 52], "#1f5fa8", "7 4", "square"),
            ],
            title="Trend & <script>",
        )
    )
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Resistance 45" in texts and "Confidence 52" in texts
    assert "<b>x</b>" in texts  # a label is text, not markup
    assert svg.find(f"{SVG}title").text == "Trend & <script>"
    assert len(list(svg.iter(f"{SVG}circle"))) == 2  # the gap: no point for None
    assert len([r for r in svg.iter(f"{SVG}rect") if r.get("width") == "8"]) == 3
    dashes = {p.get("stroke-dasharray") for p in svg.iter(f"{SVG}polyline")}
    assert dashes == {None, "7 4"}


def test_the_profile_hatches_and_names_the_barrier_stage():
    svg = _parse(
        charts.profile_chart(
            {"awareness": 4.0, "desire": 2.5, "knowledge": None}, barrier="desire", at=3.0
        )
    )
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "2.50  ← barrier point" in texts and "no figure" in texts
    assert "barrier at 3.0" in texts
    assert any(r.get("fill") == "url(#hatch)" for r in svg.iter(f"{SVG}rect"))


def test_bars_and_steps_carry_their_values_as_text():
    bars = _parse(charts.bar_chart([("w1", 3, 1, "4"), ("w2", 0, 0, "0")], title="Weekly"))
    assert [t.text for t in bars.iter(f"{SVG}text")][:2] == ["4", "w1"]
    steps = _parse(charts.step_chart([(1.0, 1), (5.0, 2)], total=4, title="Acks", unit="hours"))
    assert "2 of 4" in [t.text for t in steps.iter(f"{SVG}text")]
    empty = _parse(charts.step_chart([], total=4, title="Acks", unit="hours"))
    assert "No acknowledgements yet" in [t.text for t in empty.iter(f"{SVG}text")]
