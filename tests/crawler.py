"""A bounded same-site crawler for the page tests: it logs in through the login page, follows every link and
GET form it finds (each select option once), dedupes URLs by their shape (route, query keys, values with
numbers collapsed to their length, pages beyond 2 skipped) and checks each page it fetches.

Checks on an HTML page: no 5xx, no link to a missing page, no template syntax or Python leaking into the
visible text (`{{`, `{%`, `_(`, `None`, `Traceback`, `{name}` placeholders), no raw coded value (a snake_case
key, or on a Chinese page an English enum word) and, on an English page, no Chinese in the page's chrome:
navigation, headings, table heads, labels, buttons, options, badges, placeholders and card labels
(`data-label`), once the known data strings (names of units, people, children, campaigns, questions) are
taken out. Text marked `lang="zh-CN"` (the language switch) is Chinese on purpose.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from time import perf_counter
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from bs4 import BeautifulSoup, NavigableString
from flask import got_request_exception
from werkzeug.exceptions import HTTPException

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
SNAKE_KEY = re.compile(r"(?<![\w.@/-])[a-z]+(?:_[a-z]+)+(?![\w.@/-])")
PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}|%\([a-z_]+\)s")
LEAKS = ("{{", "}}", "{%", "%}", "_(", "Traceback", "jinja2", "Undefined")
NONE_WORD = re.compile(r"(?<![\w-])None(?![\w-])")
CHROME = ("nav", "th", "label", "h1", "h2", "h3", "h4", "button", "legend", "caption", "title", "option",
          "summary", "dt", ".btn", ".badge", ".count-label", ".tabs a")
ATTRIBUTES = ("placeholder", "data-label", "aria-label", "title")
SKIP_PATHS = ("/logout",)
MAX_LISTED = 8  # problems of one kind shown per page


@dataclass
class Visit:
    url: str
    status: int
    endpoint: str | None
    content_type: str
    referrer: str | None
    seconds: float = 0.0


@dataclass
class CrawlResult:
    visits: list[Visit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def endpoints(self) -> set[str]:
        return {v.endpoint for v in self.visits if v.endpoint and v.status < 400}

    def pages_beyond_first(self) -> set[str]:
        return {v.endpoint for v in self.visits if v.status == 200 and "page=2" in v.url and v.endpoint}


class Checker:
    """Page checks; `data_strings`: what the database holds (names, titles...), allowed anywhere."""

    def __init__(self, data_strings: set[str], enum_words: set[str]):
        self.data = {s for s in data_strings if s and CJK.search(s)}
        self.data_by_length = sorted(self.data, key=len, reverse=True)
        self.enum_words = enum_words
        self.data_ascii = {s for s in data_strings if s and not CJK.search(s)}

    def strip_data(self, text: str) -> str:
        text = text.strip()
        if text in self.data:
            return ""
        if not CJK.search(text):
            return text
        for s in self.data_by_length:
            if s in text:
                text = text.replace(s, " ")
                if not CJK.search(text):
                    break
        return text

    def page(self, soup, lang: str) -> list[str]:
        for tag in soup(["script", "style", "template"]):
            tag.decompose()
        problems: list[str] = []
        html_tag = soup.find("html")
        want = "en" if lang == "en" else "zh-CN"
        if html_tag is None or html_tag.get("lang") != want:
            problems.append(f"<html lang> is {html_tag.get('lang') if html_tag else None!r}, expected {want!r}")
        body = soup.body or soup
        visible = body.get_text(" ", strip=True)
        for leak in LEAKS:
            if leak in visible:
                problems.append(f"template text leaks: {leak!r} in …{_around(visible, leak)}…")
        if NONE_WORD.search(visible):
            problems.append(f"'None' shown: …{_around(visible, 'None')}…")
        if m := PLACEHOLDER.search(visible):
            problems.append(f"untranslated placeholder {m.group(0)!r}")
        cleaned = " ".join(w for w in visible.split() if w not in self.data_ascii)
        for key in sorted(set(SNAKE_KEY.findall(cleaned)))[:MAX_LISTED]:
            problems.append(f"raw key shown: {key!r}")
        for text in self._chrome_texts(soup):
            if lang == "en":
                if CJK.search(text) and CJK.search(self.strip_data(text)):
                    problems.append(f"Chinese in the English page's chrome: {text[:80]!r}")
            elif set(re.findall(r"[A-Za-z]+", text)) & self.enum_words:
                words = set(re.findall(r"[A-Za-z]+", self.strip_data(text))) & self.enum_words
                if words:
                    problems.append(f"coded value on a Chinese page: {sorted(words)} in {text[:80]!r}")
        return _unique(problems)

    def _chrome_texts(self, soup) -> list[str]:
        texts = []
        for element in soup.select(", ".join(CHROME)):
            if _marked_chinese(element):
                continue
            # Its own text, less descendants marked Chinese on purpose (the language switch inside a nav).
            own = " ".join(text.strip() for text in element.find_all(string=True)
                           if type(text) is NavigableString and text.strip() and not _marked_chinese(text.parent))
            if own:
                texts.append(own)
        for name in ATTRIBUTES:
            for element in soup.select(f"[{name}]"):
                if name == "title" and element.name == "title":
                    continue
                if not _marked_chinese(element) and element.get(name, "").strip():
                    texts.append(element[name])
        for element in soup.select("input[type=submit][value], input[type=button][value]"):
            texts.append(element["value"])
        return texts


def _marked_chinese(element) -> bool:
    node = element
    while node is not None and getattr(node, "name", None) not in (None, "[document]", "html"):
        lang = node.get("lang") if hasattr(node, "get") else None
        if lang:
            return lang.lower().startswith("zh")
        node = node.parent
    return False


def _around(text: str, needle: str, width: int = 40) -> str:
    i = text.find(needle)
    return text[max(0, i - width): i + len(needle) + width]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- URL shapes ------------------------------------------------------------------------------------------

def _norm(value: str) -> str:
    return re.sub(r"\d+", lambda m: f"#{len(m.group(0))}", value)


def shape(endpoint: str, view_args: dict, query: list[tuple[str, str]]) -> tuple | None:
    """A URL's shape: its route, its arguments with numbers collapsed to their length (a township stays
    apart from a village), its query keys and values; None for pages past the second."""
    items = []
    for key, value in query:
        if key == "lang" or value == "":
            continue  # a blank filter is the unfiltered list
        if key == "page":
            if value not in ("1", "2"):
                return None
            if value == "1":
                continue
        items.append((key, _norm(value)))
    args = tuple(sorted((k, _norm(str(v))) for k, v in view_args.items()))
    return endpoint, args, tuple(sorted(items))


class Crawler:
    def __init__(self, app, checker: Checker, *, limit: int = 100):
        self.app = app
        self.checker = checker
        self.limit = limit
        self.adapter = app.url_map.bind("localhost")
        self.exceptions: list[BaseException] = []
        got_request_exception.connect(self._record_exception, app, weak=False)

    def _record_exception(self, sender, exception, **extra):
        self.exceptions.append(exception)

    def login(self, client, username: str, password: str, result: CrawlResult | None = None) -> list[str]:
        """Log in through the login page, as a person does; with `result`, the login page counts as visited."""
        page = client.get("/login")
        soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
        problems = [] if page.status_code == 200 else [f"/login answered {page.status_code}"]
        if result is not None:
            result.visits.append(Visit("/login", page.status_code, "auth.login", page.mimetype or "", None))
            problems += [f"[zh] /login: {p}" for p in self.checker.page(soup, "zh")[:MAX_LISTED]]
        form = {i.get("name"): i.get("value", "") for i in soup.select("form input[name]")}
        form.update(username=username, password=password)
        response = client.post("/login", data=form)
        if response.status_code not in (302, 303):
            problems.append(f"login as {username} answered {response.status_code}")
        return problems

    def match(self, path: str):
        try:
            return self.adapter.match(path, method="GET")
        except HTTPException:
            return None, {}

    def crawl(self, client, lang: str, result: CrawlResult, urls: list[str] | None = None,
              start: tuple[str, ...] = ()) -> list[str]:
        """Breadth-first from the home page and `start` (or exactly `urls` when given); returns the URLs
        fetched. Pages of one route with ids of the same length count once, so `start` names the objects
        whose pages matter most (a campaign past its deadline, a census of a big village)."""
        # (url, referrer, reached through a GET form): a form's result page has its links followed (its
        # second page, its sort links) but not its own forms again, or filter combinations would multiply.
        queue = deque((u, None, False) for u in (urls or ["/", *start]))
        follow = urls is None
        seen: set = set()
        fetched: list[str] = []
        pages = 0  # the limit counts pages; what pages fetch besides (stylesheets, JSON, exports) is extra
        routes_queued: set[str] = set()
        while queue and pages < self.limit:
            url, referrer, from_form = queue.popleft()
            parts = urlsplit(url)
            endpoint, view_args = self.match(parts.path)
            query = parse_qsl(parts.query, keep_blank_values=True)
            key = shape(endpoint or parts.path, view_args, query)
            if key is None or key in seen:
                continue
            seen.add(key)
            self.exceptions.clear()
            started = perf_counter()
            response = client.get(url)
            seconds = perf_counter() - started
            fetched.append(url)
            status = response.status_code
            content_type = response.mimetype or ""
            result.visits.append(Visit(url, status, endpoint, content_type, referrer, seconds))
            where = f"[{lang}] {url}" + (f" (linked from {referrer})" if referrer else "")
            if status >= 500:
                cause = "; ".join(f"{type(e).__name__}: {e}" for e in self.exceptions)
                result.problems.append(f"{where}: {status} {cause}")
                continue
            if status in (301, 302, 303, 307, 308):
                target = response.headers.get("Location", "")
                if follow and _same_site(target):
                    queue.append((_local(urljoin(url, target)), url, from_form))
                continue
            if referrer is not None and status >= 400:
                result.problems.append(f"{where}: a link to a page that answers {status}")
                continue
            if content_type != "text/html":
                continue
            pages += 1
            soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
            if follow:
                for link, is_form in links_of(soup, url):
                    if is_form and from_form:
                        continue
                    link_endpoint = self.match(urlsplit(link).path)[0]
                    if "page=2" in urlsplit(link).query.split("&"):
                        queue.appendleft((link, url, is_form))  # every list's second page, within any budget
                    elif link_endpoint is not None and link_endpoint not in routes_queued:
                        # A route not met yet goes before more variants (filters, sorts) of known ones: within
                        # the budget every route is reached first.
                        routes_queued.add(link_endpoint)
                        queue.appendleft((link, url, is_form))
                    else:
                        queue.append((link, url, is_form))
            for problem in self.checker.page(soup, lang)[:MAX_LISTED]:
                result.problems.append(f"{where}: {problem}")
        return fetched


def _same_site(href: str) -> bool:
    parts = urlsplit(href)
    return (not parts.scheme or parts.scheme in ("http", "https")) and parts.netloc in ("", "localhost")


def _local(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links_of(soup, base: str) -> list[tuple[str, bool]]:
    """Same-site GET targets of a page: links, stylesheets, and GET forms (defaults, then each select option)."""
    found: list[tuple[str, bool]] = []
    for element in soup.select("a[href], link[rel=stylesheet][href]"):
        href = element["href"].split("#", 1)[0]
        if not href or href.startswith(("mailto:", "tel:", "javascript:")):
            continue
        absolute = urljoin(base, href)
        if _same_site(absolute) and not urlsplit(absolute).path.startswith(SKIP_PATHS):
            found.append((_local(absolute), False))
    # Same-site addresses a page's scripts fetch (the unit picker's `data-unit-picker="/picker/units"`).
    for element in soup.find_all(True):
        for name, value in element.attrs.items():
            if name.startswith("data-") and isinstance(value, str) and value.startswith("/") \
                    and not value.startswith("//"):
                found.append((_local(urljoin(base, value)), False))
    for form in soup.select("form"):
        if (form.get("method") or "get").lower() != "get":
            continue
        action = urljoin(base, form.get("action") or urlsplit(base).path)
        if not _same_site(action):
            continue
        fields: list[tuple[str, str]] = []
        selects: list[tuple[str, list[str]]] = []
        for element in form.select("input[name], select[name], textarea[name]"):
            name = element["name"]
            if element.name == "select":
                options = [o.get("value", o.get_text(strip=True)) for o in element.select("option")]
                chosen = element.select_one("option[selected]") or element.select_one("option")
                fields.append((name, chosen.get("value", chosen.get_text(strip=True)) if chosen else ""))
                selects.append((name, options))
            elif element.get("type") in ("checkbox", "radio"):
                if element.has_attr("checked"):
                    fields.append((name, element.get("value", "on")))
            elif element.get("type") not in ("submit", "button", "file"):
                fields.append((name, element.get("value", element.get_text() if element.name == "textarea" else "")))
        path = _local(action).split("?", 1)[0]
        found.append((f"{path}?{urlencode(fields)}", True))
        for name, options in selects:
            for option in options:
                varied = [(k, option if k == name else v) for k, v in fields]
                found.append((f"{path}?{urlencode(varied)}", True))
    return found
