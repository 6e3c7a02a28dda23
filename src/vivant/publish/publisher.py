"""The publisher: which approved paintings go out today, when, on which platform and language, and the posting
itself with its retries.

Each pass (``vivant publish run --once``, or every ``interval`` (300 s) for the long-running process):

1. posts not yet made of paintings no longer approved are cancelled;
2. posts planned on an earlier day and not made yet move to today (they count in today's paintings);
3. up to ``per_day`` paintings a day are planned, oldest approval first: one ``posts`` row per enabled
   platform and language, unique on (item, platform, language), with the slot time of its channel
   (``[publish.times]``; a platform without times posts at once);
4. the posts whose time has come are made. A post is marked UPLOADING (``claim_post``) before any byte
   leaves; the adapter saves its resume point (upload session, publish id, container id) before relying on
   it; after a crash the next pass resumes from that point, asking the platform what it already has, so a
   crash mid-upload never makes a second post.

Errors: a :class:`~vivant.publish.base.StopForToday` (quota, daily cap, rate limit, token refused) stops the
platform until tomorrow; a :class:`~vivant.publish.base.TransientError` is tried again after
``backoff_seconds × 2^(n-1)``, up to ``attempts`` tries; a :class:`~vivant.publish.base.PermanentError` gives up
on that post.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from vivant import redact
from vivant.config import Settings
from vivant.errors import ConfigError, VivantError
from vivant.files import file_stem
from vivant.publish import limits, pool
from vivant.publish.base import Adapter, PermanentError, PostJob, StopForToday, TransientError
from vivant.publish.credentials import Credentials
from vivant.publish.credentials import load as load_credentials
from vivant.states import ItemState
from vivant.store import PostRow, Store

log = logging.getLogger(__name__)

OPEN = ("QUEUED", "FAILED", "UPLOADING")
"""States of posts not made yet."""
YOUTUBE_LEAD_SECONDS = 3600.0
"""YouTube videos are uploaded this long before their slot and published at the slot by ``publishAt``."""


def local_day(ts: float) -> str:
    return datetime.fromtimestamp(ts).date().isoformat()


def day_start(day: str) -> float:
    return datetime.combine(date.fromisoformat(day), dtime(0, 0)).timestamp()


def next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def slot_times(settings: Settings, platform: str, language: str) -> list[str]:
    times = settings.publish.times
    return list(times.get(f"{platform}.{language}") or times.get(platform) or [])


def slot_at(settings: Settings, platform: str, language: str, day: str, slot: int) -> float | None:
    """The time of a day's slot on one channel; None when the platform has no times (any time)."""
    times = slot_times(settings, platform, language)
    if not times:
        return None
    hh, mm = times[min(slot, len(times) - 1)].split(":")
    return datetime.combine(date.fromisoformat(day), dtime(int(hh) % 24, int(mm) % 60)).timestamp()


@dataclass
class PassSummary:
    day: str
    scheduled: int = 0
    posted: list[dict[str, object]] = field(default_factory=list)
    failed: list[dict[str, object]] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanLine:
    day: str
    at: float | None
    platform: str
    language: str
    item_id: int
    painting: str
    title: str
    state: str
    url: str = ""
    error: str = ""


class Publisher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        adapters: dict[str, Adapter] | None = None,
        credentials: Credentials | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        interval: float = 300.0,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.interval = interval
        """The long-running publisher wakes up at least this often (seconds)."""
        self._adapters: dict[str, Adapter] = dict(adapters or {})
        self._credentials = credentials
        if credentials is not None:
            redact.register_all(credentials.secrets())

    # -- adapters and secrets -----------------------------------------------------------------------------------
    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = load_credentials(self.settings)
        return self._credentials

    def _know_secrets(self) -> None:
        """Load the credentials (which registers their values with :mod:`vivant.redact`) when a platform needs
        them; a broken file is reported where it is used, not here."""
        if self._credentials is None and set(self.settings.publish.platforms) - {"folder"}:
            with contextlib.suppress(ConfigError):
                self.credentials  # noqa: B018

    def redact(self, text: str) -> str:
        self._know_secrets()
        return redact.redact(text)

    def guard_logs(self) -> None:
        """Blank secrets in every line the root logger's handlers write (defence in depth: adapters never log
        a token in the first place); loads the credentials first so that their values are known."""
        self._know_secrets()
        redact.guard_handlers()

    def adapter(self, platform: str) -> Adapter:
        if platform not in self._adapters:
            p = self.settings.publish
            made: Adapter
            if platform == "folder":
                from vivant.publish.folder import FolderExporter

                target = p.folder.expanduser()
                made = FolderExporter(target if target.is_absolute() else self.settings.workspace / target)
            elif platform == "youtube":
                from vivant.publish.youtube import YouTube

                made = YouTube(p.youtube, self.credentials, sleep=self.sleep)
            elif platform == "tiktok":
                from vivant.publish.tiktok import TikTok

                made = TikTok(p.tiktok, self.credentials, sleep=self.sleep)
            elif platform == "instagram":
                from vivant.publish.instagram import Instagram

                made = Instagram(p.instagram, self.credentials, sleep=self.sleep)
            else:
                raise ConfigError(f"publish.platforms: unknown platform {platform!r}")
            self._adapters[platform] = made
        return self._adapters[platform]

    # -- planning -----------------------------------------------------------------------------------------------
    def channels(self, item_id: int) -> list[tuple[str, str]]:
        wanted = self.settings.publish.languages
        refused = self.qa_refused(item_id)
        langs = [lang for lang in pool.languages(self.store, item_id)
                 if (not wanted or lang in wanted) and lang not in refused]  # fmt: skip
        return [(platform, lang) for platform in self.settings.publish.platforms for lang in langs]

    def qa_refused(self, item_id: int) -> dict[str, list[str]]:
        """Languages whose video failed the automatic QA (step 10), with the failed checks: never published."""
        from vivant.qa import results

        failed = results.failed(self.store, self.settings.workspace, item_id)
        return {lang: r.causes() for lang, r in failed.items()}

    def approved_queue(self) -> list[int]:
        """Approved items, oldest approval first."""
        items = self.store.items_in_states([ItemState.APPROVED])

        def approved_at(item_id: int) -> float:
            times = [r.at for r in self.store.reviews(item_id) if r.decision == "APPROVE"]
            return times[-1] if times else 0.0

        return [i.id for i in sorted(items, key=lambda i: (approved_at(i.id), i.id))]

    def _items_of_day(self, day: str) -> list[int]:
        seen: list[int] = []
        for row in self.store.posts(day=day):
            if row.state != "CANCELLED" and row.item_id not in seen:
                seen.append(row.item_id)
        return seen

    def _missing_channels(self, item_id: int) -> list[tuple[str, str]]:
        have = {(r.platform, r.language) for r in self.store.posts(item_id=item_id) if r.state != "CANCELLED"}
        return [c for c in self.channels(item_id) if c not in have]

    def _cancel_withdrawn(self) -> None:
        for row in self.store.posts(states=OPEN):
            if self.store.item(row.item_id).state != ItemState.APPROVED:
                note = "withdrawn in review" + (
                    " during an upload: check the platform" if row.state == "UPLOADING" else ""
                )
                self.store.finish_post(row.id, "CANCELLED", error=note)

    def _carry_over(self, today: str) -> None:
        late = [r for r in self.store.posts(states=OPEN) if r.day < today]
        if not late:
            return
        order: list[int] = []
        for r in late:
            if r.item_id not in order:
                order.append(r.item_id)
        base = len(self._items_of_day(today))
        for k, item_id in enumerate(order):
            for r in late:
                if r.item_id == item_id:
                    at = slot_at(self.settings, r.platform, r.language, today, base + k)
                    self.store.reschedule_post(r.id, day=today, slot=base + k, due_at=at or day_start(today))
        log.info("%d painting(s) not published on their day move to %s", len(order), today)

    def schedule(self, today: str, now: float) -> int:
        """Plan today's paintings up to ``per_day``; return how many were added."""
        todays = self._items_of_day(today)
        free = self.settings.publish.per_day - len(todays)
        added = 0
        for item_id in self.approved_queue():
            if free <= 0:
                break
            if item_id in todays:
                continue
            missing = self._missing_channels(item_id)
            if not missing:
                continue
            slot = len(todays) + added
            for platform, lang in missing:
                at = slot_at(self.settings, platform, lang, today, slot)
                self.store.queue_post(
                    item_id, platform, lang, day=today, slot=slot, due_at=at if at is not None else now
                )
            added += 1
            free -= 1
        return added

    def _ready_at(self, row: PostRow) -> float:
        lead = YOUTUBE_LEAD_SECONDS if row.platform == "youtube" and self.settings.publish.youtube.schedule else 0.0
        return max(row.due_at - lead, row.next_try_at or 0.0)

    def due(self, today: str, now: float) -> list[PostRow]:
        rows = [r for r in self.store.posts(day=today, states=OPEN) if self._ready_at(r) <= now]
        return sorted(rows, key=lambda r: (r.due_at, r.slot, r.id))

    # -- posting ------------------------------------------------------------------------------------------------
    def _job(self, row: PostRow, now: float) -> PostJob:
        data = pool.entry(self.store, self.settings, row.item_id, row.language)
        video = pool.render_for(self.store, self.settings, row.item_id, row.language, row.platform)
        thumb = self.settings.workspace / data["thumbnail"] if data.get("thumbnail") else None
        publish_at = row.due_at if row.due_at > now + 60 else None
        return PostJob(
            post_id=row.id, platform=row.platform, video=video, thumbnail=thumb, meta=pool.post_metadata(data),
            publish_at=publish_at, ref=dict(row.upload_ref), day=row.day, stem=file_stem(str(data["painting"])),
        )  # fmt: skip

    def _stop_platform(self, platform: str, today: str, reason: str, summary: PassSummary) -> None:
        """No more posts on ``platform`` today: its open posts wait for tomorrow."""
        summary.stopped[platform] = reason
        tomorrow = day_start(next_day(today))
        for r in self.store.posts(day=today, states=OPEN):
            if r.platform == platform:
                state = "FAILED" if r.state == "UPLOADING" else r.state
                self.store.finish_post(r.id, state, error=reason, next_try_at=tomorrow)

    def _give_up(self, row: PostRow, where: str, reason: str, summary: PassSummary) -> None:
        log.error("%s: %s; giving up on this post", where, reason)
        self.store.finish_post(row.id, "GAVE_UP", error=reason)
        summary.failed.append({"post": row.id, "platform": row.platform, "error": reason})

    def cap_reached(self, platform: str, now: float) -> str:
        """Why ``platform`` takes no more posts now (its ``posts_per_24h`` made in the last 24 hours), or ""."""
        cap = limits.per_24h(self.settings, platform)
        if not cap:
            return ""
        since = now - limits.DAY
        made = [r for r in self.store.posts(states=["POSTED"]) if r.platform == platform and (r.posted_at or 0) > since]
        if len(made) < cap:
            return ""
        return f"{len(made)} post(s) in the last 24 hours: the cap (publish.{platform}.posts_per_24h = {cap})"

    def post(self, row: PostRow, today: str, summary: PassSummary) -> None:
        now = self.clock()
        where = f"{row.platform} [{row.language}] item {row.item_id}"
        refused = self.qa_refused(row.item_id).get(row.language)
        if refused is not None:
            reason = f"refused: the video failed automatic QA ({', '.join(refused)})"
            log.warning("%s: %s", where, reason)
            self.store.finish_post(row.id, "CANCELLED", error=reason)
            summary.failed.append({"post": row.id, "platform": row.platform, "error": reason})
            return
        try:
            job = self._job(row, now)
            adapter = self.adapter(row.platform)
        except ConfigError as e:
            reason = self.redact(str(e))
            log.error("%s: %s", where, reason)
            self._stop_platform(row.platform, today, reason, summary)
            return
        except VivantError as e:
            self._give_up(row, where, self.redact(str(e)), summary)
            return
        claimed = self.store.claim_post(row.id)
        resuming = " (resuming)" if row.upload_ref else ""
        log.info("%s: posting %s%s", where, job.video.name, resuming)
        try:
            result = adapter.publish(job, lambda ref: self.store.set_post_ref(row.id, ref))
        except StopForToday as e:
            reason = self.redact(str(e))
            log.warning("%s: %s; no more %s posts today", where, reason, row.platform)
            self._stop_platform(row.platform, today, reason, summary)
            return
        except PermanentError as e:
            self._give_up(row, where, self.redact(str(e)), summary)
            return
        except Exception as e:
            transient = isinstance(e, TransientError | VivantError)
            reason = self.redact(str(e) if transient else f"{type(e).__name__}: {e}")
            if not transient:
                log.error("%s: unexpected error: %s", where, reason)
            if claimed.attempts >= self.settings.publish.attempts:
                log.error("%s: %s; giving up after %d attempts", where, reason, claimed.attempts)
                self.store.finish_post(row.id, "GAVE_UP", error=reason)
            else:
                delay = self.settings.publish.backoff_seconds * 2 ** (claimed.attempts - 1)
                log.warning("%s: %s; trying again in %.0f s", where, reason, delay)
                self.store.finish_post(row.id, "FAILED", error=reason, next_try_at=now + delay)
            summary.failed.append({"post": row.id, "platform": row.platform, "error": reason})
            return
        self.store.finish_post(row.id, "POSTED", remote_id=result.remote_id, url=result.url)
        log.info("%s: posted as %s %s", where, result.remote_id, result.url)
        summary.posted.append({"post": row.id, "item": row.item_id, "platform": row.platform,
                               "language": row.language, "remote_id": result.remote_id, "url": result.url})  # fmt: skip

    def run_once(self) -> PassSummary:
        now = self.clock()
        today = local_day(now)
        summary = PassSummary(day=today)
        self._cancel_withdrawn()
        self._carry_over(today)
        summary.scheduled = self.schedule(today, now)
        for row in self.due(today, now):
            if row.platform in summary.stopped:
                continue
            current = self.store.post(row.id)
            if current.state not in OPEN or self.store.item(row.item_id).state != ItemState.APPROVED:
                continue
            capped = self.cap_reached(row.platform, self.clock())
            if capped:
                log.warning("%s: %s; no more %s posts today", row.platform, capped, row.platform)
                self._stop_platform(row.platform, today, capped, summary)
                continue
            self.post(current, today, summary)
        return summary

    def next_wake(self) -> float:
        """Seconds until the next post is ready (at most ``interval``)."""
        now = self.clock()
        interval = self.interval
        ready = [self._ready_at(r) for r in self.store.posts(day=local_day(now), states=OPEN)]
        soonest = min(ready, default=now + interval)
        return max(1.0, min(interval, soonest - now, day_start(next_day(local_day(now))) - now + 1))

    def run_forever(
        self, stop: threading.Event | None = None, on_pass: Callable[[PassSummary], None] | None = None
    ) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            summary = self.run_once()
            if on_pass is not None:
                on_pass(summary)
            stop.wait(self.next_wake())

    # -- the plan -----------------------------------------------------------------------------------------------
    def plan(self, days: int = 3) -> list[PlanLine]:
        """What goes out when: posts already planned (today and later, or not made yet), then the approved
        paintings not planned yet, ``per_day`` a day, on the days to come."""
        now = self.clock()
        today = local_day(now)
        lines: list[PlanLine] = []
        titles: dict[int, tuple[str, str]] = {}

        def names(item_id: int) -> tuple[str, str]:
            if item_id not in titles:
                p = self.store.painting(self.store.item(item_id).painting_id)
                titles[item_id] = (p.key, p.title)
            return titles[item_id]

        counts: dict[str, set[int]] = {}
        for r in self.store.posts():
            if r.state == "CANCELLED":
                continue
            counts.setdefault(r.day, set()).add(r.item_id)
            if r.day >= today or r.state in OPEN:
                key, title = names(r.item_id)
                lines.append(PlanLine(r.day, r.due_at, r.platform, r.language, r.item_id, key, title, r.state,
                                      r.url or "", r.error))  # fmt: skip
        queue = [i for i in self.approved_queue() if self._missing_channels(i)]
        planned_today = set(counts.get(today, set()))
        queue = [i for i in queue if i not in planned_today]
        day = today
        for _ in range(max(1, days)):
            used = len(counts.get(day, set()))
            free = self.settings.publish.per_day - used
            for k in range(max(0, free)):
                if not queue:
                    break
                item_id = queue.pop(0)
                key, title = names(item_id)
                for platform, lang in self._missing_channels(item_id):
                    at = slot_at(self.settings, platform, lang, day, used + k)
                    lines.append(PlanLine(day, at, platform, lang, item_id, key, title, "PLANNED"))
            day = next_day(day)
        return sorted(lines, key=lambda p: (p.day, p.at or day_start(p.day), p.platform, p.language))


def describe_plan(lines: list[PlanLine], settings: Settings | None = None) -> list[dict[str, object]]:
    """The plan as plain data; with ``settings``, each line also says the visibility the post will get."""
    return [
        {"day": p.day, "at": datetime.fromtimestamp(p.at).strftime("%H:%M") if p.at else "any time",
         "platform": p.platform, "language": p.language, "item": p.item_id, "painting": p.painting,
         "title": p.title, "state": p.state, "url": redact.redact(p.url), "error": redact.redact(p.error),
         **({"privacy": limits.effective_privacy(settings, p.platform)} if settings is not None else {})}
        for p in lines
    ]  # fmt: skip


def output_folder(settings: Settings) -> Path:
    target = settings.publish.folder.expanduser()
    return target if target.is_absolute() else settings.workspace / target
