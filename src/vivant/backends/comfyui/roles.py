"""The roles backed by ComfyUI: voice (step 2), image editor (3, 4), video maker (5, 8), lip-sync (6).

Each role fills its workflow's placeholders, lets the :class:`~vivant.backends.comfyui.pool.ComfyPool` run the
job, and normalises what comes back with FFmpeg (size, frame rate, length, codecs) so the steps after it see the
same files as with the embedded backends. The engine's hooks (record the prompt id before submitting, adopt an
earlier attempt's prompt, per-node progress, the server's timing) come from the running step's context.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import shutil
import socket
import threading
from collections import Counter
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from vivant.backends import ffmpeg
from vivant.backends.comfyui import windows
from vivant.backends.comfyui.errors import WorkflowError
from vivant.backends.comfyui.jobs import Job, JobHooks, JobResult
from vivant.backends.comfyui.pool import ComfyPool
from vivant.backends.comfyui.workflow import Workflow
from vivant.backends.families import FAMILIES
from vivant.config import Settings
from vivant.errors import StepError
from vivant.roles import Attempt, Box, Gender, Language, WordTiming, current_attempt
from vivant.urls import safe_url

log = logging.getLogger(__name__)
COMFY_STEPS = FAMILIES["comfyui"].steps
"""The steps ComfyUI may serve (its row of the families table)."""
DEFAULT_WORKFLOWS = Path(str(files("vivant"))) / "workflows"
"""The packaged ``vivant/workflows/`` folder (used when ``comfyui.workflows`` names no file for a step)."""

_VIDEO = ("image", "end_image", "prompt", "negative_prompt", "seed", "width", "height", "fps", "seconds", "frames",
          "frames_4n1", "frames_8n1")  # fmt: skip
OFFERED: dict[str, tuple[str, ...]] = {
    "audio": ("text", "prompt", "language", "voice", "seconds", "seed"),
    "restore": ("image", "prompt", "negative_prompt", "seed", "width", "height"),
    "realistic": ("image", "prompt", "negative_prompt", "seed", "width", "height"),
    "transition": _VIDEO,
    "outro": _VIDEO,
    "lipsync": (*(p for p in _VIDEO if p != "end_image"), "audio"),
}
"""The placeholders each step fills; a workflow binding any other one fails its preflight."""
LIPSYNC_CROSSFADE = 0.2
"""Seconds of crossfade at each cut between lip-sync windows (the clips are made that much longer, so the joined
clip keeps the narration's length and clock)."""
WORDS_PER_SECOND = 2.5
"""Speech rate used to estimate vivant:seconds for TTS workflows."""
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]


def default_client_id(settings: Settings) -> str:
    """A clientId stable across restarts of this program (so a resumed night hears about its old prompts)."""
    digest = hashlib.sha1(str(settings.workspace.resolve()).encode()).hexdigest()[:10]
    return f"vivant-{socket.gethostname()}-{digest}"


def frame_counts(seconds: float, fps: int) -> dict[str, int]:
    """``frames`` = ceil(seconds x fps); ``frames_4n1``/``frames_8n1``: the next 4k+1 / 8k+1 (Wan, LTX)."""
    n = max(1, math.ceil(seconds * fps - 1e-6))
    return {"frames": n, "frames_4n1": 4 * math.ceil((n - 1) / 4) + 1, "frames_8n1": 8 * math.ceil((n - 1) / 8) + 1}


class ComfyBackends:
    """The endpoint pools and the workflows of one run; builds the roles.

    A step is sent to the pool of its resource (``[scheduler.resources]``, "gpu" by default): the servers of
    ``[comfyui.pools]`` for that resource, or ``comfyui.endpoints``. Steps of one resource share one pool, so
    its balancer sees all their jobs and its ``POST /free`` follows their model changes.
    """

    def __init__(self, settings: Settings, *, pool: ComfyPool | None = None) -> None:
        self.settings = settings
        self._pools: dict[str, ComfyPool] = {"gpu": pool} if pool is not None else {}
        self._workflows: dict[str, Workflow] = {}

    def pool_key(self, step: str) -> str:
        """The pool a step's jobs go to: its resource when ``[comfyui.pools]`` lists it, else "gpu"."""
        resource = self.settings.scheduler.resources.get(step, "gpu")
        return resource if resource in self.settings.comfyui.pools else "gpu"

    def _make_pool(self, key: str) -> ComfyPool:
        cs = self.settings.comfyui
        # in overlap mode, steps of two lanes sharing these servers interleave their models: freeing the memory
        # at each change would only make them reload
        lanes = {self.settings.scheduler.resources.get(s, "gpu") for s in self.steps() if self.pool_key(s) == key}
        shared = self.settings.scheduler.mode == "overlap" and len(lanes) > 1
        if shared and cs.free_between_steps:
            log.warning("ComfyUI servers of %s serve the lanes %s at once: memory is not freed between their "
                        "models (give a lane its own servers in [comfyui.pools])",
                        key, ", ".join(sorted(lanes)))  # fmt: skip
        switch = cs.free_between_steps and not shared
        if key == "gpu":
            return ComfyPool(cs, client_id=default_client_id(self.settings), switch_models=switch)
        return ComfyPool(cs, client_id=f"{default_client_id(self.settings)}-{key}", urls=list(cs.pools[key]),  # type: ignore[index]
                         key=f"comfyui.pools.{key}", switch_models=switch)  # fmt: skip

    def pool_for(self, step: str) -> ComfyPool:
        key = self.pool_key(step)
        if key not in self._pools:
            self._pools[key] = self._make_pool(key)
        return self._pools[key]

    @property
    def pool(self) -> ComfyPool:
        """The default pool (``comfyui.endpoints``)."""
        if "gpu" not in self._pools:
            self._pools["gpu"] = self._make_pool("gpu")
        return self._pools["gpu"]

    def pools(self, steps: list[str] | None = None) -> dict[str, ComfyPool]:
        """The pools the given steps (default: every ComfyUI step) are sent to, by key."""
        return {self.pool_key(s): self.pool_for(s) for s in (self.steps() if steps is None else steps)}

    def workflow_path(self, step: str) -> Path:
        return self.settings.comfyui.workflows.get(step) or DEFAULT_WORKFLOWS / f"{step}.json"

    def workflow(self, step: str) -> Workflow:
        if step not in self._workflows:
            wf = Workflow.load(self.workflow_path(step))
            wf.require(OFFERED[step], role=step)
            self._workflows[step] = wf
        return self._workflows[step]

    def steps(self) -> list[str]:
        b = self.settings.backends
        return [s for s in COMFY_STEPS if getattr(b, s) == "comfyui"]

    def preflight(self, steps: list[str] | None = None) -> dict[str, list[str]]:
        """Check every configured workflow on every endpoint; raise on the first problem (all are returned
        when ``steps`` is given explicitly by ``vivant doctor``)."""
        chosen = self.steps() if steps is None else steps
        report: dict[str, list[str]] = {}
        for key in dict.fromkeys(self.pool_key(s) for s in chosen):
            wfs = {s: self.workflow(s) for s in chosen if self.pool_key(s) == key}
            report.update(self.pool_for(next(iter(wfs))).preflight(wfs))
        return report

    def enter_step(self, step: str) -> None:
        self.pool_for(step).enter_step(step, self.workflow(step))

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()

    def voice(self, language: Language, gender: Gender = "unclear") -> ComfyVoice:
        return ComfyVoice(self, language, gender)

    def image_editor(self, task: Literal["restore", "realistic"]) -> ComfyImageEditor:
        return ComfyImageEditor(self, task)

    def video_maker(self, style: Literal["transition", "outro"]) -> ComfyVideoMaker:
        return ComfyVideoMaker(self, style)

    def lipsyncer(self) -> ComfyLipSyncer:
        return ComfyLipSyncer(self)


class _ComfyRole:
    degraded = False
    step = ""

    def __init__(self, backends: ComfyBackends, step: str) -> None:
        self.backends = backends
        self.step = step
        self.name = f"comfyui:{backends.workflow_path(step).name}"

    @property
    def cs(self) -> Any:
        return self.backends.settings.comfyui

    def _common(self) -> dict[str, Any]:
        return {
            "prompt": self.cs.prompts.get(self.step, ""),
            "negative_prompt": self.cs.negative_prompt,
            "seed": random.SystemRandom().randrange(2**31),
        }

    def _run(self, values: dict[str, Any], work: Path, *, cost: float = 1.0) -> JobResult:
        ctx = current_attempt()
        hooks = JobHooks()
        label = self.step
        if ctx is not None:
            timing = ctx.timing

            def endpoint(url: str) -> None:
                timing.endpoint = url

            hooks = JobHooks(ctx.previous_remote_ids, ctx.set_remote_id, ctx.progress, endpoint, ctx.notice)
            label = f"{ctx.painting.key}: {self.step}" + (f" [{ctx.language}]" if ctx.language else "")
        wf = self.backends.workflow(self.step)
        result = self.backends.pool_for(self.step).run(Job(wf, values, work, label=label, cost=cost), hooks)
        if ctx is not None:
            ctx.timing.queue_wait = result.queue_wait
            ctx.timing.compute = result.compute
        return result


def _fit(width: int, height: int, fps: int, seconds: float) -> str:
    """Scale and crop to the render size, resample the frame rate, hold the last frame to the full length."""
    return (f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1,"
            f"fps={fps},tpad=stop_mode=clone:stop_duration={seconds:.3f}")  # fmt: skip


class ComfyImageEditor(_ComfyRole):
    def __init__(self, backends: ComfyBackends, task: Literal["restore", "realistic"]) -> None:
        super().__init__(backends, task)

    def edit(self, image: Path, out: Path, *, task: Literal["restore", "realistic"]) -> None:
        from PIL import Image

        with Image.open(image) as im:
            width, height = im.size
        got = self._run({**self._common(), "image": image, "width": width, "height": height}, out.parent)
        try:
            ffmpeg.run(["-i", got.path, "-vf", f"scale={width}:{height}", "-frames:v", "1", out])
        finally:
            got.path.unlink(missing_ok=True)


class ComfyVideoMaker(_ComfyRole):
    def __init__(self, backends: ComfyBackends, style: Literal["transition", "outro"]) -> None:
        super().__init__(backends, style)

    def first_last(self, first: Path, last: Path, out: Path, *, seconds: float,
                   style: Literal["transition", "outro"], width: int, height: int, fps: int) -> None:  # fmt: skip
        cs = self.cs
        values = {
            **self._common(), "image": first, "end_image": last, "width": cs.video_width, "height": cs.video_height,
            "fps": cs.video_fps, "seconds": seconds, **frame_counts(seconds, cs.video_fps),
        }  # fmt: skip
        got = self._run(values, out.parent, cost=seconds)
        try:
            ffmpeg.run(["-i", got.path, "-vf", _fit(width, height, fps, seconds), "-t", f"{seconds:.3f}", "-an",
                        *X264, "-movflags", "+faststart", out])  # fmt: skip
        finally:
            got.path.unlink(missing_ok=True)


class ComfyLipSyncer(_ComfyRole):
    """Step 6 on ComfyUI. A narration longer than the workflow's window is cut into windows at pauses between
    words (:mod:`vivant.backends.comfyui.windows`); each window is one job, kept in a cache folder beside the
    unit's folder under the hash of what it was made from, so a unit that failed or crashed after some windows
    redoes only the others; the clips are crossfaded and the whole narration muxed by FFmpeg."""

    def __init__(self, backends: ComfyBackends) -> None:
        super().__init__(backends, "lipsync")

    def window_settings(self) -> tuple[float, str, int]:
        """(longest window in seconds, 0 for none; mode; the fps the workflow generates at)."""
        cs = self.cs
        wf = self.backends.workflow(self.step)
        gen_fps = int(wf.options.get("fps") or cs.video_fps)
        if cs.lipsync_window:
            spec, where = cs.lipsync_window, "comfyui.lipsync_window"
        else:
            spec, where = wf.options.get("window") or 0, f'workflow {wf.name}: "vivant": {{"window"}}'
        mode = cs.lipsync_mode or str(wf.options.get("mode") or "independent")
        if mode not in ("independent", "chained"):
            raise WorkflowError(f'workflow {wf.name}: mode {mode!r} is neither "independent" nor "chained"')
        seconds = windows.window_seconds(spec, gen_fps, where=where)
        frames = windows.spec_frames(spec)
        if frames is not None and seconds > 0:
            # the model's limit: each job's clip (its window plus the crossfade, its frame count rounded up to
            # the 4n+1 / 8n+1 the workflow binds) must stay within it
            slack = 7 if "frames_8n1" in wf.placeholders else 3 if "frames_4n1" in wf.placeholders else 0
            seconds = max(seconds / 4, (frames - slack - 1) / gen_fps - LIPSYNC_CROSSFADE)
        return seconds, mode, gen_fps

    def animate(self, portrait: Path, audio: Path, out: Path, *, face: Box | None, width: int, height: int,
                fps: int, words: Sequence[WordTiming] | None = None) -> None:  # fmt: skip
        seconds = ffmpeg.probe(audio).duration
        max_seconds, mode, gen_fps = self.window_settings()
        if max_seconds <= 0 or seconds <= max_seconds + 1e-9:
            self._one_job(portrait, audio, out, width=width, height=height, fps=fps, seconds=seconds, gen_fps=gen_fps)
            return
        ctx = current_attempt()
        if words is None:
            words = self._words(ctx)
        plan = windows.plan(words, seconds, max_seconds, crossfade=LIPSYNC_CROSSFADE, fps=fps)
        lang = (ctx.language if ctx is not None else None) or "all"
        unit_dir = ctx.out if ctx is not None else out.parent
        cache = unit_dir.parent / f".windows-{self.step}-{lang}"
        cache.mkdir(parents=True, exist_ok=True)
        run = _WindowRun(self, plan, portrait, audio, cache, width=width, height=height, fps=fps, gen_fps=gen_fps)
        log.info("%s: %d windows of at most %.2f s (%s) for %.2f s of narration", run.label, len(plan), max_seconds,
                 mode, seconds)  # fmt: skip
        clips = run.chained() if mode == "chained" else run.independent()
        windows.join(clips, plan, audio, out, duration=seconds, fps=fps)
        run.report_timing()
        shutil.rmtree(cache, ignore_errors=True)

    def _words(self, ctx: Attempt | None) -> list[WordTiming]:
        if ctx is None:
            raise WorkflowError("windowed lip-sync needs the narration's word timings (step 2's timings.json)")
        path = ctx.input("audio", "timings")
        try:
            return [WordTiming.model_validate(w) for w in json.loads(path.read_text(encoding="utf-8"))]
        except (OSError, ValueError) as e:
            raise StepError(f"{path}: cannot read the word timings: {e}") from None

    def _one_job(self, portrait: Path, audio: Path, out: Path, *, width: int, height: int, fps: int, seconds: float,
                 gen_fps: int) -> None:  # fmt: skip
        cs = self.cs
        values = {
            **self._common(), "image": portrait, "audio": audio, "width": cs.video_width, "height": cs.video_height,
            "fps": gen_fps, "seconds": round(seconds, 3), **frame_counts(seconds, gen_fps),
        }  # fmt: skip
        got = self._run(values, out.parent, cost=seconds)
        try:
            ffmpeg.run(["-i", got.path, "-i", audio, "-map", "0:v:0", "-map", "1:a:0",
                        "-vf", _fit(width, height, fps, seconds), "-t", f"{seconds:.3f}", *X264,
                        "-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart", out])  # fmt: skip
        finally:
            got.path.unlink(missing_ok=True)


class _WindowRun:
    """The windows of one lip-sync unit: which are cached, the jobs of the others, and their timing."""

    def __init__(self, role: ComfyLipSyncer, plan: list[windows.Window], portrait: Path, audio: Path, cache: Path,
                 *, width: int, height: int, fps: int, gen_fps: int) -> None:  # fmt: skip
        self.role, self.plan, self.portrait, self.audio, self.cache = role, plan, portrait, audio, cache
        self.width, self.height, self.fps, self.gen_fps = width, height, fps, gen_fps
        self.ctx = current_attempt()
        self.label = role.step
        if self.ctx is not None:
            lang = f" [{self.ctx.language}]" if self.ctx.language else ""
            self.label = f"{self.ctx.painting.key}: {role.step}{lang}"
        self.results: list[JobResult] = []
        self.done = 0
        self.reused = 0
        self._lock = threading.Lock()
        wf = role.backends.workflow(role.step)
        cs = role.cs
        self.salt = windows.digest(wf.name, json.dumps(wf.graph, sort_keys=True), f"{cs.video_width}x{cs.video_height}",
                                   str(gen_fps), f"{width}x{height}@{fps}")  # fmt: skip

    def _key(self, w: windows.Window, start_image: Path) -> tuple[str, Path]:
        seg = self.cache / f"w{w.index:03d}-{w.clip_start:.3f}-{w.clip_end:.3f}.wav"
        if not seg.is_file():
            tmp = seg.with_name(seg.stem + ".part.wav")
            windows.cut_audio(self.audio, w.clip_start, w.clip_end, tmp)
            tmp.replace(seg)
        key = windows.digest(self.salt, f"{w.clip_start:.4f}-{w.clip_end:.4f}", seg.read_bytes(),
                             start_image.read_bytes())  # fmt: skip
        return key, seg

    def _job(self, w: windows.Window, key: str, seg: Path, image: Path) -> tuple[Job, JobHooks]:
        role, cs = self.role, self.role.cs
        values = {
            **role._common(), "image": image, "audio": seg, "width": cs.video_width, "height": cs.video_height,
            "fps": self.gen_fps, "seconds": round(w.clip_seconds, 3), **frame_counts(w.clip_seconds, self.gen_fps),
        }  # fmt: skip
        prompt_file = self.cache / f"{key}.prompt"
        previous = (prompt_file.read_text().strip(),) if prompt_file.is_file() else ()
        ctx = self.ctx
        n = len(self.plan)

        def set_remote_id(rid: str) -> None:
            prompt_file.write_text(rid + "\n")  # the window's own record, for a resumed unit to follow it
            if ctx is not None:
                with self._lock:  # one writer at a time into the attempt row
                    ctx.set_remote_id(rid)

        def progress(fraction: float, **detail: Any) -> None:
            if ctx is not None:
                ctx.progress((self.done + fraction) / n, window=w.index + 1, windows=n, **detail)

        def endpoint(url: str) -> None:
            if ctx is not None:
                ctx.timing.endpoint = ctx.timing.endpoint or url

        job = Job(role.backends.workflow(role.step), values, self.cache / f"{key}.job",
                  label=f"{self.label} window {w.index + 1}/{n}", cost=w.clip_seconds)  # fmt: skip
        return job, JobHooks(previous, set_remote_id, progress, endpoint)

    def _keep(self, w: windows.Window, key: str, result: JobResult) -> Path:
        clip = self.cache / f"{key}.mp4"
        tmp = self.cache / f"{key}.part.mp4"
        try:
            windows.fit_clip(result.path, tmp, seconds=w.clip_seconds, width=self.width, height=self.height,
                             fps=self.fps)  # fmt: skip
            tmp.replace(clip)
        finally:
            shutil.rmtree(result.path.parent, ignore_errors=True)
        self.results.append(result)
        self.done += 1
        return clip

    def independent(self) -> list[Path]:
        """Every window from the portrait, all submitted at once (spread over the pool's servers)."""
        keys = [self._key(w, self.portrait) for w in self.plan]
        clips = [self.cache / f"{key}.mp4" for key, _ in keys]
        todo = [(w, key, seg) for w, (key, seg), clip in zip(self.plan, keys, clips, strict=True) if not clip.is_file()]
        self.reused = self.done = len(self.plan) - len(todo)
        if todo:
            pool = self.role.backends.pool_for(self.role.step)
            outcomes = pool.run_many([self._job(w, key, seg, self.portrait) for w, key, seg in todo])
            errors: list[BaseException] = []
            for (w, key, _), got in zip(todo, outcomes, strict=True):
                if isinstance(got, BaseException):
                    errors.append(got)
                else:
                    self._keep(w, key, got)
            if errors:
                log.warning("%s: %d of %d windows failed; the %d others are kept for the next attempt", self.label,
                            len(errors), len(self.plan), len(self.plan) - len(errors))  # fmt: skip
                raise errors[0]
        return clips

    def chained(self) -> list[Path]:
        """Each window from the previous window's last frame, one after the other."""
        clips: list[Path] = []
        image = self.portrait
        pool = self.role.backends.pool_for(self.role.step)
        for w in self.plan:
            key, seg = self._key(w, image)
            clip = self.cache / f"{key}.mp4"
            if clip.is_file():
                self.reused += 1
                self.done += 1
            else:
                job, hooks = self._job(w, key, seg, image)
                self._keep(w, key, pool.run(job, hooks))
            clips.append(clip)
            image = windows.last_frame(clip, self.cache / f"{key}.last.png")
        return clips

    def report_timing(self) -> None:
        if self.ctx is None or not self.results:
            return
        waits = [r.queue_wait for r in self.results if r.queue_wait is not None]
        computes = [r.compute for r in self.results if r.compute is not None]
        self.ctx.timing.queue_wait = min(waits) if waits else None
        self.ctx.timing.compute = sum(computes) if computes else None
        counts = Counter(safe_url(r.endpoint) for r in self.results)
        self.ctx.timing.endpoint = counts.most_common(1)[0][0]


class ComfyVoice(_ComfyRole):
    """Speech from a TTS workflow. Word times are spread over the real length by word size (the subtitles
    step aligns them further when a transcriber is configured)."""

    def __init__(self, backends: ComfyBackends, language: Language, gender: Gender = "unclear") -> None:
        super().__init__(backends, "audio")
        self.language = language
        self.gender: Gender | None = None if gender == "unclear" else gender
        # vivant:voice: [comfyui] voices per language (one name, or one per gender), else [speech] voices.
        chosen = self.cs.voices.get(language, "")
        if isinstance(chosen, dict):
            chosen = chosen.get(gender) or chosen.get("unclear", "")
        self.speaker = chosen or backends.settings.speech.voice(language, gender)
        self.name = f"{self.name}:{self.speaker}" if self.speaker else self.name

    def speak(self, text: str, language: Language, out_wav: Path) -> list[WordTiming]:
        words = text.split()
        if not words:
            raise WorkflowError("the narration is empty")
        estimate = round(len(words) / WORDS_PER_SECOND + 0.5, 2)
        values = {
            "text": text, "prompt": text, "language": language, "voice": self.speaker,
            "seconds": estimate, "seed": random.SystemRandom().randrange(2**31),
        }  # fmt: skip
        got = self._run(values, out_wav.parent, cost=estimate)
        try:
            ffmpeg.run(["-i", got.path, "-vn", "-ac", "1", "-ar", "22050", "-c:a", "pcm_s16le", out_wav])
        finally:
            got.path.unlink(missing_ok=True)
        return spread_words(words, ffmpeg.probe(out_wav).duration)


def spread_words(words: list[str], duration: float) -> list[WordTiming]:
    """Word times proportional to each word's length (plus a small gap), over ``duration`` seconds."""
    weights = [len(w) + 1 for w in words]
    total = sum(weights)
    usable = max(duration - 0.2, 0.1)
    out: list[WordTiming] = []
    t = 0.1
    for word, w in zip(words, weights, strict=True):
        d = usable * w / total
        out.append(WordTiming(word=word, start=round(t, 3), end=round(t + d * 0.92, 3)))
        t += d
    return out
