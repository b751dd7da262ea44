"""A message's HTML made safe to show: nh3 (ammonia) keeps the tags and attributes mail uses
and nothing that runs (scripts, event handlers, forms, frames, ``javascript:`` links), and
remote content (images, CSS ``url()``) is blocked unless the reader allows it: a remote image
tells the sender the mail was read, and when and where. ``cid:`` references become the API's
URL of that part. The console shows the result in a sandboxed iframe without scripts and
with a CSP that refuses remote loads too: this module is the first of two walls.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import nh3

__all__ = ["Sanitised", "sanitise"]

_TAGS = frozenset(
    {"a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption"}
    | {"center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div"}
    | {"dl", "dt", "em", "figcaption", "figure", "font", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt"}
    | {"ruby", "s", "samp", "small", "span", "strike", "strong", "style", "sub", "summary"}
    | {"sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul"}
    | {"var", "wbr"}
)
# Removed with their content: what runs or embeds, and text that is not the mail's (a title).
_DROPPED = frozenset(
    {"script", "title", "noscript", "template", "iframe", "object", "embed", "applet"}
    | {"textarea", "select", "frameset", "frame", "svg", "math", "audio", "video", "canvas"}
)
_COMMON = frozenset({"style", "class", "dir", "lang", "title", "align", "valign", "width"})
_ATTRIBUTES = {
    "*": _COMMON | {"height", "bgcolor", "color", "border"},
    "a": frozenset({"href", "name"}),
    "img": frozenset({"src", "alt", "hspace", "vspace"}),
    "font": frozenset({"face", "size"}),
    "table": frozenset({"cellpadding", "cellspacing", "background", "summary"}),
    "td": frozenset({"colspan", "rowspan", "background", "nowrap"}),
    "th": frozenset({"colspan", "rowspan", "background", "nowrap", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "type", "reversed"}),
    "li": frozenset({"value"}),
    "time": frozenset({"datetime"}),
}
_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid", "data"})
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:", "#")
_REMOTE = ("http:", "https:", "//")
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|webp|bmp);", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*))\s*\)""", re.IGNORECASE)
# Ways CSS runs code or loads things without url(): IE's expression() and behaviours,
# Firefox's XBL bindings, @import, image-set() with bare strings.
_CSS_HOSTILE = re.compile(
    r"expression\s*\(|behavior\s*:|-moz-binding|javascript:|@import|image-set\s*\(",
    re.IGNORECASE,
)
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Sanitised:
    """Safe HTML, how many remote resources were blocked in it, and whether it was cut."""

    html: str
    remote_blocked: int
    truncated: bool = False


class _Filter:
    """The attribute filter nh3 calls for each kept attribute: blocks and counts remote
    content, rewrites ``cid:`` (returning None drops the attribute).
    """

    def __init__(
        self, part_url: Callable[[str], str | None], remote: bool, own: set[str] | None = None
    ) -> None:
        self.part_url = part_url
        self.remote = remote
        self.blocked = 0
        self.own = set() if own is None else own  # the part URLs this filter wrote

    def __call__(self, tag: str, name: str, value: str) -> str | None:
        if name == "style":
            return self.css(value)
        if name == "href":
            return value if value.strip().lower().startswith(_LINK_SCHEMES) else None
        if name in ("src", "background"):
            return self.embedded(value)
        return value

    def embedded(self, value: str) -> str | None:
        url = value.strip()
        lower = url.lower()
        if url in self.own:
            return url
        if lower.startswith("cid:"):
            rewritten = self.part_url(urllib.parse.unquote(url[4:]))  # RFC 2392: %-encoded
            if rewritten is not None:
                self.own.add(rewritten)
            return rewritten
        if _DATA_IMAGE.match(lower):
            return url
        if lower.startswith(_REMOTE):
            if self.remote:
                return url
            self.blocked += 1
        # Relative URLs mean nothing in mail (and would resolve against the console's origin).
        return None

    def css(self, text: str) -> str:
        text = text.replace("\\", "")  # CSS escapes would hide "url(" and "expression"
        text = _CSS_HOSTILE.sub("x-blocked(", text)
        return _CSS_URL.sub(self._css_url, text)

    def _css_url(self, match: re.Match[str]) -> str:
        target = next((g for g in match.groups() if g is not None), "")
        url = self.embedded(target)
        return f"url('{url}')" if url and "'" not in url else "none"


def sanitise(
    html: str, part_url: Callable[[str], str | None], *, remote: bool, limit: int | None = None
) -> Sanitised:
    """``html`` made safe; ``part_url`` maps a Content-ID to its URL (None: no such part).
    With ``limit``, the result is at most that many bytes of UTF-8 (cut, then cleaned again,
    so that the cut leaves no half tag).
    """
    check = _Filter(part_url, remote)
    clean = _clean(html, check)
    if "<style>" in clean:
        # nh3 keeps a <style> element's text as it is: the same CSS rules apply to it. The
        # regex may also match inside other markup ("<style>" in an attribute value), so the
        # result is cleaned once more: whatever the regex did, only allowed markup is left.
        styled = _STYLE_BLOCK.sub(lambda m: f"<style>{check.css(m.group(1))}</style>", clean)
        clean = _clean(styled, _Filter(lambda _cid: None, remote, check.own))
    truncated = False
    budget = limit or 0
    while limit is not None and len(encoded := clean.encode("utf-8")) > limit:
        # Cleaning again may close a tag or two: cut a little more each time until it fits.
        budget = min(budget, len(encoded)) - 1024
        cut = encoded[: max(budget, 0)].decode("utf-8", "ignore")
        clean = _clean(cut, _Filter(lambda _cid: None, remote, check.own))
        truncated = True
    return Sanitised(clean, check.blocked, truncated)


def _clean(html: str, check: _Filter) -> str:
    return nh3.clean(
        html,
        tags=set(_TAGS),
        clean_content_tags=set(_DROPPED),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=check,
        strip_comments=True,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=set(_URL_SCHEMES),
    )
