"""Camera stream addresses (A1.7, A2.4, A3.4): which ones are kept, and how a page offers each.

A stream address ends up as a link, a copy button or a player's source, so only the schemes of video
streams are kept: RTSP and RTMP (opened in the operator's player, e.g. VLC), HLS (an http(s) address of an
.m3u8 playlist, played in the browser) and other http(s) pages of a camera. javascript:, data:, file:,
ftp: and the rest are refused where the address comes in (forms/data_forms.py)."""
import re
from urllib.parse import urlsplit

HLS, RTSP, RTMP, WEB = "hls", "rtsp", "rtmp", "web"
SCHEMES = {"http": WEB, "https": WEB, "rtsp": RTSP, "rtsps": RTSP, "rtmp": RTMP, "rtmps": RTMP}
MAX_LENGTH = 512


def stream_kind(url: str | None) -> str | None:
    """hls, rtsp, rtmp or web for an address that may be kept; None for anything else."""
    if not isinstance(url, str) or not url or len(url) > MAX_LENGTH:
        return None
    # Whitespace and control characters have no place in an address; browsers strip some of them, which is
    # how "java\tscript:" turns into a script.
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 -- a port beyond 65535 or not a number raises here
    except ValueError:
        return None
    kind = SCHEMES.get(parts.scheme.lower())
    if kind is None or not host or not url.lower().startswith(parts.scheme.lower() + "://"):
        return None
    if kind == WEB and parts.path.lower().endswith(".m3u8"):
        return HLS
    return kind


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


def player_origin(url: str) -> str | None:
    """The scheme://host[:port] a page's Content-Security-Policy must allow for the browser to play an HLS
    stream; None unless it is plainly a host name or address (nothing that could end the policy's directive)."""
    if stream_kind(url) != HLS:
        return None
    parts = urlsplit(url)
    origin = f"{parts.scheme.lower()}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return origin if _ORIGIN.match(origin) else None
