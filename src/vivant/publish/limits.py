"""What each platform allows, and what the user declared about it: the audit status and the posting caps.

- YouTube: an API project Google has not audited can only upload private videos (``[publish.youtube] audited``);
  the default quota (10,000 units a day, 1,600 an upload) allows 6 uploads a day; ``selfDeclaredMadeForKids``
  is always sent explicitly.
- TikTok: an unaudited client posts ``SELF_ONLY`` only, to private accounts (``[publish.tiktok] audited``);
  Direct Post allows about 15 posts a day per creator.
- Instagram: 25 API posts in any 24 hours (the account's ``content_publishing_limit`` is also read before each
  post).

The publisher counts the posts made in the last 24 hours and stops a platform for the day at its cap
(``posts_per_24h``); ``vivant publish plan`` and ``vivant doctor`` state all of it.
"""

from __future__ import annotations

from vivant.config import Settings

DAY = 86400.0


def effective_privacy(settings: Settings, platform: str) -> str:
    """The visibility a post will really get on ``platform``, given what the user declared."""
    p = settings.publish
    if platform == "youtube":
        return p.youtube.privacy if p.youtube.audited else "private"
    if platform == "tiktok":
        return p.tiktok.privacy_level if p.tiktok.audited else "SELF_ONLY"
    if platform == "instagram":
        return "public"
    return "file"


def per_24h(settings: Settings, platform: str) -> int:
    """The most posts on ``platform`` in any 24 hours (0: no cap)."""
    section = getattr(settings.publish, platform, None)
    return int(getattr(section, "posts_per_24h", 0) or 0)


def describe(settings: Settings, platform: str) -> str:
    """One line: the platform's audit status, the visibility its posts get, its cap."""
    p = settings.publish
    cap = per_24h(settings, platform)
    caps = f"at most {cap} post(s) in 24 hours" if cap else "no posting cap set"
    if platform == "youtube":
        y = p.youtube
        if y.audited:
            audit = f"audited (declared): videos go {y.privacy}"
        else:
            wanted = f" (privacy = {y.privacy} asked)" if y.privacy != "private" else ""
            audit = f"not audited (publish.youtube.audited = false): uploads stay private{wanted}"
        kids = "yes" if y.made_for_kids else "no"
        return f"{audit}; {caps} (10,000 quota units a day, 1,600 an upload); made for kids: {kids} (declared)"
    if platform == "tiktok":
        t = p.tiktok
        if t.audited:
            return f"audited (declared): posts go {t.privacy_level}; {caps}"
        wanted = f" (privacy_level = {t.privacy_level} asked)" if t.privacy_level != "SELF_ONLY" else ""
        return (f"not audited (publish.tiktok.audited = false): posts are SELF_ONLY{wanted} and the account must be "
                f"private; {caps}")  # fmt: skip
    if platform == "instagram":
        return f"{caps} (Instagram's API limit; content_publishing_limit is read before each post)"
    return "files in the publish folder: no limit"
