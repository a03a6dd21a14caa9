"""Shared helpers for the benchmark scripts: a synthetic playbook, questions, settings, output.

The corpus is deterministic for a given seed: Markdown files with front matter, an
intro paragraph and `##` sections of 2–4 sentences (one chunk each with the default
chunk size), plus FAQ files whose `### Question?` entries become one chunk each.
Every section carries one "fact" from which a direct question and a paraphrase are
derived; unanswerable questions come from separate off-topic and absent-topic templates.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Nothing in a benchmark may reach the network; the bundled model is local anyway.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


# -- vocabulary ----------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    """Items separated by `|`; line breaks inside an item are just spaces."""
    return [" ".join(item.split()) for item in text.split("|") if item.strip()]


FIRST = _words(
    """Amara|Ben|Chloe|Daniel|Elena|Farid|Grace|Hannah|Ishaan|Jonas|Keiko|Liam|Maya|Noah|
Olivia|Pavel|Quinn|Rosa|Samir|Tara|Umar|Vera|Wei|Ximena|Yusuf|Zofia|Arjun|Bianca|Carlos|
Dana|Emeka|Freya|Gustavo|Hiro|Ines|Jakub|Leila|Mateo|Nadia|Oscar|Priya|Rahul|Sofia|
Tomasz"""
)
LAST = _words(
    """Mensah|Weber|Raman|Mehta|Vos|Okafor|Lindqvist|Tanaka|Moreau|Novak|Haddad|Costa|Berg|
Fischer|Kowalski|Silva|Nakamura|Dubois|Jansen|Rossi|Andersen|Murphy|Schmidt|Kaur|Petrov|
Yilmaz|Hughes|Romero|Castillo|Nguyen|Bakker|Dimitrou|Farouk|Olsen|Brennan|Sato|Ivanova|
Ortega"""
)
DEPTS = _words(
    """Finance|Payroll|Procurement|Customer Support|Logistics|Data Engineering|
Platform Engineering|Information Security|Legal|HR|Marketing|Sales Operations|
Facilities|Treasury|Risk|Compliance|Internal Audit|Field Service|Warehouse Operations|
Product Design|Customer Success|Fleet Management|Quality Assurance|
Corporate Communications|Research|Supply Planning|Tax|Investor Relations|
Network Operations|Retail Operations"""
)
PROGRAMMES = _words(
    """Lighthouse|Compass|Northstar|Keystone|Horizon|Meridian|Atlas|Beacon|Harbor|Summit|
Catalyst|Pathfinder|Evergreen|Bridgewater|Polaris"""
)
TEAMS = _words(
    """Falcon|Orca|Juniper|Cobalt|Saffron|Granite|Aurora|Tundra|Willow|Ember|Quartz|Nimbus|
Sequoia|Marlin|Topaz|Cedar|Glacier|Harrier|Lotus|Onyx|Pioneer|Raven|Sierra|Tidal|Vortex"""
)
SYSTEMS = _words(
    """billing service|route-cost model|customer ledger|payroll engine|invoice matcher|
demand forecast|churn model|pricing API|warehouse scanner app|supplier portal|
fraud scoring model|shipment tracker|contract repository|timesheet system|
expense pipeline|inventory planner|claims workflow|tax calculator|order router|
loyalty engine|credit limit model|returns portal|forecast dashboard|
spare parts catalogue|dispatch optimiser"""
)
TOOLS = _words(
    """Kubernetes|Snowflake|Databricks|Airflow|Grafana|MLflow|dbt|Kafka|Looker|Tableau|
Power BI|GitLab|Terraform|Vault|Salesforce|Workday|SAP S/4HANA|Coupa|Concur|Zendesk|
Jira|Confluence|Miro|BigQuery|Argo CD|Datadog|PagerDuty|Okta|SharePoint|Monday.com"""
)
LEGACY = _words(
    """the old Oracle data warehouse|the Access billing database|the on-premise Hadoop cluster|
the shared network drive|the legacy SAS server|the Lotus Notes workflow|
the old intranet|the FTP file drop|the Excel forecasting workbook|
the on-premise Exchange server|the Cognos reporting server|the paper timesheet"""
)
PROCESSES = _words(
    """access review|change approval|incident review|vendor onboarding|expense approval|
model validation|release sign-off|data retention review|budget reforecast|
new starter onboarding|leaver offboarding|quarterly close|capacity planning|
supplier risk assessment|password reset|licence renewal|privacy impact assessment|
disaster recovery test|performance calibration|contract renewal"""
)
ROLES = _words(
    """programme manager|wave coordinator|data protection officer|HR business partner|
product owner|platform lead|finance controller|security architect|change manager|
training coordinator|model risk lead|procurement lead|service owner|engineering manager|
communications lead|operations director"""
)
APPROVERS = _words(
    """department head|finance controller|CFO|procurement board|Model Risk Committee|
IT steering group|budget holder|Chief Information Officer|regional director|
data protection officer"""
)
RESOURCES = _words(
    """cloud compute|software licences|external consultants|training courses|
laptops and monitors|conference travel|market research data|contractor backfill|
GPU capacity|team offsites|translation services|office furniture"""
)
MEETINGS = _words(
    """steering committee|architecture review board|change advisory board|wave planning call|
champions network call|risk forum|design authority|town hall|managers' briefing|
release readiness review"""
)
WEEKDAYS = _words("Monday|Tuesday|Wednesday|Thursday|Friday")
ROOMS = _words(
    """Aurora|Baltic|Cascade|Delta|Everest|Fjord|Granite|Highland|Iris|Jade|Kestrel|Lagoon"""
)
COURSES = _words(
    """Data Literacy Basics|Secure Coding|Responsible AI|Cloud Cost Awareness|
Leading Through Change|Privacy Essentials|Agile Foundations|Advanced SQL|
Incident Commander|Negotiation Skills|Accessibility by Design|Presenting with Data|
Python for Analysts|Model Monitoring|Customer Empathy"""
)
AUDIENCES = _words(
    """all people managers|new starters|data scientists|platform engineers|
customer-facing staff|finance analysts|team leads|every model owner|
contractors with system access|warehouse supervisors"""
)
LMS = _words("the Learning Hub|Workday Learning|the training portal|Cornerstone")
TICKETING = _words("ServiceNow|Jira Service Management|the IT portal|Freshservice")
QUEUES = _words(
    """Data Platform|Identity and Access|Analytics Tools|Developer Tooling|Finance Systems|
Collaboration Tools|Cloud Accounts|Reporting"""
)
DATA = _words(
    """Customer call recordings|Payroll records|Web analytics events|CCTV recordings|
Supplier contracts|Model training snapshots|Support chat transcripts|Expense receipts|
Badge access logs|Marketing consent records|Delivery GPS traces|Job applicant CVs"""
)
REGIONS = _words("Frankfurt|Dublin|Amsterdam|Stockholm|Paris|London")
INCIDENTS = _words(
    """a production model starts drifting|the nightly load fails|
customer data is sent to the wrong recipient|a laptop is lost or stolen|
the payment run is delayed|the warehouse scanners go offline|
a supplier reports a data breach|dashboards show stale numbers|
the pricing API returns errors|a phishing email is reported"""
)
PAGERS = _words("PagerDuty|Opsgenie|the on-call phone line|xMatters")
OFFICES = _words(
    """Rotterdam|Lisbon|Leeds|Kraków|Austin|Singapore|Dublin|Madrid|Gothenburg|Toronto|
Manchester|Lyon|Porto|Brno"""
)
BUILDINGS = _words(
    """the Harbour Building|Riverside Tower|the Foundry|Canal House|the Atrium|Station Square|
the Old Mill|Parkside Campus|the Exchange|Granary Wharf"""
)
DESK_APPS = _words("Robin|Condeco|the Deskbird app|Skedda")
ITEMS = _words(
    """cloud spend|training|contractors|hardware refresh|team events|conference travel|
software licences|recruitment|customer research|data subscriptions"""
)
SERVICES = _words("IT|HR|Payroll|Facilities|Data Platform|Finance Systems|Security")
PRIORITIES = _words("P1|P2|P3|high-priority|routine")
TRAVEL_AGENTS = _words("Egencia|Amex GBT|TravelPerk|Navan")
HR_TOOLS = _words("Workday|Personio|BambooHR|SuccessFactors")
CHANNELS = _words(
    """#lighthouse-help|#platform-support|#data-questions|#finance-ops|#it-helpdesk|
#security-alerts|#change-team|#people-questions|#facilities|#wave-coordination"""
)
PURPOSES = _words(
    """monthly reporting|ad-hoc analysis|file sharing|forecasting|invoice approval|
document storage|time recording|email|scheduled extracts"""
)
MONTHS = _words(
    """January|February|March|April|May|June|July|August|September|October|November|December"""
)
GROUPS = _words(
    """Planning and dates|Access and tools|People and roles|Money and approvals|
Support and incidents|Training|Offices and facilities|Policies"""
)
FILLERS = [
    "This applies to everyone in {dept}, including contractors and interns.",
    "The decision was agreed at the {meeting} on {date}.",
    "Exceptions must be recorded in {tool2} with a short justification.",
    "Questions can be posted in {channel}, which the {programme} team monitors every day.",
    "{person} will share a progress update in the next {programme} newsletter.",
    "Teams that cannot meet this should tell their wave coordinator two weeks in advance.",
    "The previous arrangement, which relied on {legacy}, ends at the same time.",
    "A short how-to video is available on the {programme} intranet page.",
    "Managers are expected to discuss the change with their teams in the next one-to-one.",
    "The rule will be reviewed again in {quarter} based on feedback from {dept}.",
    "Sign-in to {tool2} uses single sign-on, so no separate password is needed.",
    "Pilot teams in {office} have worked this way since {date}.",
    "Costs are charged back to the requesting cost centre at the end of each month.",
    "Audit findings from last year showed that the old approach was too slow.",
    "If anything is unclear, ask your local {programme} champion first.",
    "The {team} team collected the requirements during a series of workshops in {office}.",
    "Progress is tracked on the {programme} dashboard in {tool2}.",
    "Late requests are handled in the following cycle unless the {approver} agrees otherwise.",
    "Contractors follow the same rule but need their sponsor to confirm it.",
    "This replaces the guidance published in {quarter_prev}.",
]
INTROS = [
    "This page describes how {dept} takes part in the {programme} programme. It is maintained "
    "by {person}, {role}, and was last reviewed on {date}.",
    "Use this page to find the agreed rules and dates for {dept}. The owner is {person} "
    "({role}); corrections go to {channel}.",
    "Everything {dept} needs to know about {topic}, in one place. {person} keeps it up to date "
    "after every {meeting}.",
    "This document collects decisions about {topic} that affect {dept}. For anything not "
    "covered here, contact {person}, the {role}.",
]


def _date(rng: random.Random) -> str:
    day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 730))
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _slots(rng: random.Random, dept: str, programme: str) -> dict[str, str]:
    year = rng.choice([2026, 2027])
    quarter = rng.randrange(1, 5)
    prev_q = quarter - 1 or 4
    return {
        "dept": dept if rng.random() < 0.8 else rng.choice(DEPTS),
        "programme": programme,
        "team": rng.choice(TEAMS),
        "system": rng.choice(SYSTEMS),
        "tool": rng.choice(TOOLS),
        "tool2": rng.choice(TOOLS),
        "legacy": rng.choice(LEGACY),
        "date": _date(rng),
        "person": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "role": rng.choice(ROLES),
        "process": rng.choice(PROCESSES),
        "approver": rng.choice(APPROVERS),
        "resource": rng.choice(RESOURCES),
        "amount": f"€{rng.choice([2, 5, 10, 15, 25, 50, 75, 100, 250])},000",
        "meeting": rng.choice(MEETINGS),
        "weekday": rng.choice(WEEKDAYS),
        "time": f"{rng.choice([8, 9, 10, 11, 13, 14, 15, 16])}:{rng.choice(['00', '30'])}",
        "room": rng.choice(ROOMS),
        "course": rng.choice(COURSES),
        "audience": rng.choice(AUDIENCES),
        "hours": str(rng.choice([2, 3, 4, 6, 8, 12, 16])),
        "lms": rng.choice(LMS),
        "ticketing": rng.choice(TICKETING),
        "queue": rng.choice(QUEUES),
        "n": str(rng.choice([1, 2, 3, 5, 10])),
        "data": rng.choice(DATA),
        "months": str(rng.choice([3, 6, 12, 18, 24, 36, 60, 84])),
        "region": rng.choice(REGIONS),
        "incident": rng.choice(INCIDENTS),
        "pager": rng.choice(PAGERS),
        "channel": rng.choice(CHANNELS),
        "minutes": str(rng.choice([15, 30, 60])),
        "office": rng.choice(OFFICES),
        "building": rng.choice(BUILDINGS),
        "deskapp": rng.choice(DESK_APPS),
        "item": rng.choice(ITEMS),
        "quarter": f"Q{quarter} {year}",
        "quarter_prev": f"Q{prev_q} {year - (1 if quarter == 1 else 0)}",
        "service": rng.choice(SERVICES),
        "priority": rng.choice(PRIORITIES),
        "agent": rng.choice(TRAVEL_AGENTS),
        "hrtool": rng.choice(HR_TOOLS),
        "days": str(rng.choice([1, 2, 3, 4])),
        "purpose": rng.choice(PURPOSES),
        "flight_hours": str(rng.choice([4, 6, 8, 10])),
        "topic": rng.choice(PROCESSES),
    }


# kind: (heading, fact sentence, direct question, paraphrase)
FACT_KINDS: dict[str, tuple[str, str, str, str]] = {
    "migration": (
        "{system} migration",
        "The {team} team will move the {system} to {tool} by {date}.",
        "When will the {team} team move the {system} to {tool}?",
        "What's the deadline for migrating the {system} onto {tool}?",
    ),
    "owner": (
        "Who owns {process}",
        "{person}, our {role}, owns the {process} process for {dept}.",
        "Who owns the {process} process for {dept}?",
        "Which person in {dept} is responsible for {process}?",
    ),
    "approval": (
        "Approving {resource}",
        "Requests for {resource} above {amount} must be approved by the {approver} before a "
        "purchase order is raised.",
        "Who must approve {resource} requests above {amount}?",
        "I need {resource} costing more than {amount}; whose sign-off do I need?",
    ),
    "meeting": (
        "The {meeting}",
        "The {programme} {meeting} meets every {weekday} at {time} in the {room} room.",
        "When does the {programme} {meeting} meet?",
        "What day and time is the {meeting} for {programme} held?",
    ),
    "training": (
        "{course} course",
        "The {course} course is mandatory for {audience} and takes {hours} hours; book a seat "
        "in {lms}.",
        "How long does the {course} course take?",
        "Is {course} training required for {audience}, and where do I sign up?",
    ),
    "access": (
        "Access to {tool}",
        "For {dept} staff, access to {tool} is requested in {ticketing} under the {queue} "
        "queue and is granted within {n} working days.",
        "How do {dept} staff get access to {tool}?",
        "Where do I ask for a {tool} account, and how long does it take?",
    ),
    "retention": (
        "Retention of {data_l}",
        "{data} are kept for {months} months in the {region} data centre and then deleted "
        "automatically.",
        "How long are {data_l} kept?",
        "What is the retention period for {data_l}?",
    ),
    "incident": (
        "If {incident}",
        "If {incident}, page the {team} on-call engineer through {pager} and post a summary "
        "in {channel} within {minutes} minutes.",
        "What should I do if {incident}?",
        "Who do I page when {incident}?",
    ),
    "office": (
        "{office} office move",
        "The {office} office moves to {building} on {date}, and desks are booked through "
        "{deskapp} from then on.",
        "When does the {office} office move to {building}?",
        "What's the moving date for the {office} office, and how do I book a desk there?",
    ),
    "budget": (
        "{dept} budget for {item}",
        "{dept} has a budget of {amount} for {item} in {quarter}, managed by {person}.",
        "What is the {dept} budget for {item} in {quarter}?",
        "How much money can {dept} spend on {item}?",
    ),
    "retire": (
        "Retiring {legacy_t}",
        "{legacy_c} will be switched off on {date}; after that, use {tool} for {purpose}.",
        "When will {legacy} be switched off?",
        "What replaces {legacy} for {purpose}, and from when?",
    ),
    "role": (
        "New {role} role",
        "A new {role} role starts in {dept} on {date}, reporting to {person}.",
        "Who does the new {role} in {dept} report to?",
        "When does {dept} get its new {role}?",
    ),
    "remote": (
        "Remote working in {dept}",
        "Staff in {dept} may work remotely up to {days} days a week, agreed with their "
        "manager and recorded in {hrtool}.",
        "How many days a week can {dept} staff work remotely?",
        "What is the work-from-home allowance for people in {dept}?",
    ),
    "travel": (
        "Long-haul travel",
        "For {dept} trips with flights longer than {flight_hours} hours, premium economy may "
        "be booked through {agent}.",
        "Can {dept} staff book premium economy on long flights?",
        "What class of flight may I book for a long {dept} business trip?",
    ),
    "sla": (
        "{service} service desk response times",
        "The {service} service desk answers {priority} tickets within {n} hours during "
        "business hours.",
        "How fast does the {service} service desk respond to {priority} tickets?",
        "What's the response time for {priority} tickets at the {service} desk?",
    ),
}

UNANSWERABLE_OFFTOPIC = [
    "What is the recipe for the {dish} served in the staff canteen?",
    "Who won the {sport} world championship in {year}?",
    "How do I renew my {country} passport?",
    "What will the weather be like in {city} this weekend?",
    "Can you recommend a good {genre} novel for my holiday?",
    "How many moons does {planet} have?",
    "What's the best way to house-train a {dog} puppy?",
    "How do I fix a flat tyre on a {bike} bike?",
    "What time does the {city} farmers market open on Saturdays?",
    "Which {genre} films are showing at the cinema tonight?",
    "How long should I boil {dish} for?",
    "What is the capital of {country}?",
    "Is it worth learning to play the {instrument} as an adult?",
    "How do I get red wine stains out of a {fabric} shirt?",
]
UNANSWERABLE_ABSENT = [
    "Is there a pension matching scheme for {dept} staff?",
    "What is the dress code for the {programme} launch party?",
    "Can I bring my dog to the {office} office on Fridays?",
    "Does {programme} have a mascot or a theme song?",
    "How many parking spaces for electric bikes does the {office} office have?",
    "What is the sabbatical policy for people who joined {dept} this year?",
    "Will the {office} canteen offer vegan options during {programme}?",
    "Who designed the {programme} logo?",
]
OFFTOPIC_SLOTS = {
    "dish": ["lasagne", "shakshuka", "ramen", "paella", "goulash", "pad thai", "risotto", "eggs"],
    "sport": ["rugby", "cricket", "handball", "chess", "cycling", "curling", "volleyball"],
    "year": ["1998", "2003", "2011", "2015", "2019", "2022"],
    "country": ["Portuguese", "Canadian", "Polish", "Irish", "Dutch", "Japanese", "Chilean"],
    "city": ["Lisbon", "Oslo", "Nairobi", "Melbourne", "Montreal", "Seville", "Osaka"],
    "genre": ["science fiction", "crime", "historical", "fantasy", "comedy", "horror"],
    "planet": ["Mars", "Jupiter", "Saturn", "Neptune", "Uranus"],
    "dog": ["beagle", "border collie", "dachshund", "labrador", "greyhound"],
    "bike": ["road", "mountain", "folding", "cargo", "gravel"],
    "instrument": ["cello", "piano", "drums", "violin", "saxophone", "ukulele"],
    "fabric": ["cotton", "linen", "silk", "polyester", "wool"],
}


@dataclass
class Fact:
    kind: str
    source: str
    section: str
    question: str
    paraphrase: str
    faq: bool = False


@dataclass
class SyntheticDoc:
    path: str  # relative, forward slashes
    text: str
    expected_chunks: int
    facts: list[Fact] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fill(template: str, slots: dict[str, str]) -> str:
    text = template.format(**slots)
    return text[0].upper() + text[1:]


def _fact_slots(slots: dict[str, str]) -> dict[str, str]:
    out = dict(slots)
    data = slots["data"]
    out["data_l"] = data if data[:2].isupper() else data[0].lower() + data[1:]  # keep "CCTV"
    legacy = slots["legacy"]
    out["legacy_c"] = legacy[0].upper() + legacy[1:]
    out["legacy_t"] = legacy.removeprefix("the ")
    return out


_FOLDERS = {
    "roadmap": "roadmap",
    "policy": "policies",
    "training": "training",
    "announcement": "announcements",
    "other": "teams",
    "faq": "faq",
}
_TITLES = {
    "roadmap": ["{programme} roadmap for {dept}", "{programme} wave plan: {dept}"],
    "policy": ["{dept} policy on {process}", "{process_t} rules for {dept}"],
    "training": ["{tool} guide for {dept}", "Getting started with {tool} in {dept}"],
    "announcement": ["{programme} update for {dept}, {month} {year}"],
    "other": ["{dept} ways of working", "{dept} team handbook", "{dept} {office} site notes"],
    "faq": ["{programme} FAQ for {dept}", "{dept} FAQ on {tool}"],
}


def generate_corpus(
    n_docs: int,
    *,
    seed: int = 20261,
    sections: tuple[int, int] = (7, 11),
    faq_share: float = 0.15,
) -> list[SyntheticDoc]:
    """`n_docs` Markdown documents; each has 1 intro chunk + `sections` (inclusive range)."""
    rng = random.Random(seed)
    docs: list[SyntheticDoc] = []
    titles: set[str] = set()
    paths: set[str] = set()
    types = ["roadmap", "policy", "training", "announcement", "other"]
    for number in range(n_docs):
        is_faq = rng.random() < faq_share
        doc_type = "faq" if is_faq else types[number % len(types)]
        dept = rng.choice(DEPTS)
        programme = rng.choice(PROGRAMMES)
        base = _slots(rng, dept, programme)
        base["dept"] = dept
        base["month"] = rng.choice(MONTHS)
        base["year"] = str(rng.choice([2026, 2027]))
        base["process_t"] = base["process"][0].upper() + base["process"][1:]
        title = _fill(rng.choice(_TITLES[doc_type]), base)
        suffix = 2
        unique = title
        while unique in titles:
            unique = f"{title} ({suffix})"
            suffix += 1
        title = unique
        titles.add(title)
        path = f"{_FOLDERS[doc_type]}/{_slug(title)}.md"
        while path in paths:  # slug collisions
            path = path.removesuffix(".md") + "-x.md"
        paths.add(path)

        audience = rng.sample(["everyone", "managers", "engineers", "analysts", "finance"], 2)
        lines = [
            "---",
            f"title: {json.dumps(title, ensure_ascii=False)}",
            f"type: {doc_type}",
            f"owner: {base['person']} ({base['role']})",
            f"audience: [{', '.join(audience)}]",
            f"updated: {dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 600))}",
            "---",
            "",
            f"# {title}",
            "",
            _fill(rng.choice(INTROS), base) + " " + _fill(rng.choice(FILLERS), base),
            "",
        ]
        count = rng.randint(*sections)
        kinds = rng.sample(list(FACT_KINDS), min(count, len(FACT_KINDS)))
        while len(kinds) < count:
            kinds.append(rng.choice(list(FACT_KINDS)))
        facts: list[Fact] = []
        headings: set[str] = set()
        groups = rng.sample(GROUPS, min(len(GROUPS), max(1, (count + 2) // 3)))
        for position, kind in enumerate(kinds):
            slots = _fact_slots(_slots(rng, dept, programme))
            heading_t, fact_t, question_t, paraphrase_t = FACT_KINDS[kind]
            fillers = rng.sample(FILLERS, rng.randint(1, 3))
            body = " ".join([_fill(fact_t, slots), *(_fill(f, slots) for f in fillers)])
            question = _fill(question_t, slots)
            paraphrase = _fill(paraphrase_t, slots)
            if is_faq:
                if position % 3 == 0:
                    lines += [f"## {groups[min(position // 3, len(groups) - 1)]}", ""]
                heading = question
                lines += [f"### {question}", "", body, ""]
            else:
                heading = _fill(heading_t, slots)
                if heading in headings:
                    heading = f"{heading} ({slots['office']})"
                headings.add(heading)
                lines += [f"## {heading}", "", body, ""]
            facts.append(Fact(kind, path, heading, question, paraphrase, faq=is_faq))
        docs.append(SyntheticDoc(path, "\n".join(lines), 1 + count, facts))
    return docs


def write_corpus(docs: list[SyntheticDoc], root: Path) -> None:
    for doc in docs:
        target = root / doc.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(doc.text, encoding="utf-8")


@dataclass(frozen=True)
class Question:
    category: str  # "direct" | "paraphrase" | "unanswerable"
    text: str
    sources: frozenset[str] = frozenset()  # files whose section this question was made from


def make_questions(
    docs: list[SyntheticDoc],
    count: int,
    *,
    seed: int,
    mix: tuple[float, float, float] = (0.5, 0.3, 0.2),
    exclude: set[str] | None = None,
) -> list[Question]:
    """`count` distinct questions: direct, paraphrased and unanswerable, shuffled."""
    rng = random.Random(seed)
    taken = set(exclude or ())
    facts = [fact for doc in docs for fact in doc.facts]
    origins: dict[str, set[str]] = defaultdict(set)  # the same text can come from several files
    for fact in facts:
        origins[fact.question].add(fact.source)
        origins[fact.paraphrase].add(fact.source)
    n_direct = round(count * mix[0])
    n_para = round(count * mix[1])
    n_unans = count - n_direct - n_para
    out: list[Question] = []

    def add(category: str, text: str) -> bool:
        if text in taken:
            return False
        taken.add(text)
        out.append(Question(category, text, frozenset(origins.get(text, ()))))
        return True

    for category, wanted, attr in (
        ("direct", n_direct, "question"),
        ("paraphrase", n_para, "paraphrase"),
    ):
        got = 0
        for _ in range(wanted * 50):
            if got == wanted:
                break
            got += add(category, getattr(rng.choice(facts), attr))
    got = 0
    for attempt in range(n_unans * 200):
        if got == n_unans:
            break
        if attempt % 3 == 2:
            slots = {
                "dept": rng.choice(DEPTS),
                "programme": rng.choice(PROGRAMMES),
                "office": rng.choice(OFFICES),
            }
            got += add("unanswerable", _fill(rng.choice(UNANSWERABLE_ABSENT), slots))
        else:
            slots = {key: rng.choice(values) for key, values in OFFTOPIC_SLOTS.items()}
            got += add("unanswerable", _fill(rng.choice(UNANSWERABLE_OFFTOPIC), slots))
    rng.shuffle(out)
    return out


# -- running -------------------------------------------------------------------------------
def isolated_settings(data_dir: Path, knowledge_dir: Path, **overrides: object):
    """Settings from the code defaults only: no `.env`, no CHANGEBOT_* variables.

    A benchmark must be reproducible and must not reach the network (an LLM, a remote
    database or Chroma server, or a hub model named in the environment).
    """
    from bot.config import Settings

    ignored = sorted(name for name in os.environ if name.upper().startswith("CHANGEBOT_"))
    saved = {name: os.environ.pop(name) for name in ignored}
    try:
        values = {
            "data_dir": data_dir,
            "knowledge_dir": knowledge_dir,
            "database_url": None,
            "chroma_url": None,
            "llm": None,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        settings = Settings(_env_file=None, **values)
    finally:
        os.environ.update(saved)
    return settings, ignored


def quiet_libraries() -> None:
    """Silence progress bars and chatty loggers of transformers / sentence-transformers."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("sentence_transformers", "transformers", "chromadb", "httpx", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except Exception:
        pass


@contextmanager
def workspace(workdir: Path | None, prefix: str, keep: bool) -> Iterator[Path]:
    """A fresh directory: a temp dir (removed unless `keep`), or a new one under `workdir`."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
        return
    if keep:
        yield Path(tempfile.mkdtemp(prefix=prefix))
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


class Reporter:
    def __init__(self, json_only: bool) -> None:
        self.json_only = json_only

    def progress(self, message: str) -> None:
        if not self.json_only:
            print(f"... {message}", file=sys.stderr, flush=True)

    def table(self, title: str, rows: list[tuple[str, object]]) -> None:
        if self.json_only:
            return
        width = max(len(name) for name, _ in rows)
        print(f"\n{title}")
        print("-" * max(len(title), width + 20))
        for name, value in rows:
            print(f"{name:<{width}}  {value}")

    def note(self, text: str) -> None:
        if not self.json_only:
            print(text)

    def json_line(self, payload: dict) -> None:
        print(json.dumps(payload, sort_keys=False, ensure_ascii=False), flush=True)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, `q` in 0..100 (same as numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy so far (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(value) for value in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall and CPU seconds of one phase, and how much CPU *other* processes took meanwhile.

    `others_cores` is the average number of cores other processes kept busy during the
    phase; anything well above 0 on this 2-core machine means the figure is contended.
    """

    def __enter__(self) -> Meter:
        self._busy = _busy_seconds()
        self._cpu = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        busy = _busy_seconds()
        if busy is None or self._busy is None or self.wall <= 0:
            self.others_cores = None
        else:
            self.others_cores = round(max(0.0, busy - self._busy - self.cpu) / self.wall, 2)


def machine() -> dict[str, object]:
    import platform

    info: dict[str, object] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except Exception:
        pass
    return info
