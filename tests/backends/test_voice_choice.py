"""Step 2's choice of voice per language and sitter's gender: ``[voice]``'s lists, the first installed voice,
what is recorded (the attempt's backend, ``voice.json``), and when the narration is degraded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vivant.backends.local.voice import LocalVoice, install_command, installed
from vivant.backends.registry import Roles
from vivant.config import GenderVoices, Settings, VoiceSettings, parse
from vivant.errors import ConfigError
from vivant.roles import Gender, Painting, Script, Sitter, Verdict
from vivant.steps import audio
from vivant.steps.base import StepContext

MBROLA = installed("mbrola:fr1") and installed("mbrola:fr4")
needs_mbrola = pytest.mark.skipif(
    not MBROLA, reason="Debian's mbrola-fr1/fr4 are not installed (.ci/run installs them)"
)

SCRIPT = "Bonjour, je suis un portrait peint par Ingres, et je vais te raconter mon histoire en quelques mots."


def test_first_installed_voice_of_the_list_speaks() -> None:
    settings = VoiceSettings(
        fr=GenderVoices(female=["mbrola:fr9", "espeak-ng:fr+f3"], male=["flite:slt"], unclear=[]),
        fallback={"fr": "espeak-ng:fr"},
    )
    local = LocalVoice(settings)
    female = local.choose("fr", "female")
    assert not installed("mbrola:fr9")  # no such Debian voice
    assert female.spec == "espeak-ng:fr+f3" and female.gender == "female" and female.fits
    assert female.degraded  # espeak-ng
    assert female.better == "mbrola:fr9" and "mbrola-fr9" in install_command("mbrola:fr9")
    # Nothing listed for an unclear sitter: the fallback.
    assert local.choose("fr", "unclear").spec == "espeak-ng:fr"
    # A man's voice asked, a woman's listed: it speaks (when installed) but does not fit.
    male = local.choose("fr", "male")
    if installed("flite:slt"):
        assert male.spec == "flite:slt" and not male.fits and male.degraded
    assert local.voice_for("fr", "female").name == "local:espeak-ng:fr+f3"
    assert local.voice_for("fr", "female") is local.voice_for("fr", "female")


def test_unknown_engine_is_a_config_error_naming_the_voice() -> None:
    with pytest.raises(ConfigError, match=r"'espeak:fr'.*ENGINE:NAME"):
        LocalVoice(VoiceSettings(fr=GenderVoices(female=["espeak:fr"]))).choose("fr", "female")


def test_voice_lists_parse_from_toml(tmp_path: Path) -> None:
    settings = parse(
        '[voice]\nfallback = { fr = "espeak-ng:fr" }\n[voice.fr]\nfemale = ["mbrola:fr4"]\nmale = ["mbrola:fr1"]\n'
        '[speech]\nmodel = "kokoro"\n[speech.voices]\nfr = { female = "ff_siwis", male = "fm_x" }\n'
        '[speech.instructions]\nfemale = "A warm voice."\n',
        base=tmp_path,
    )
    assert settings.voice.choices("fr", "female") == ["mbrola:fr4", "espeak-ng:fr"]
    assert settings.speech.voice("fr", "male") == "fm_x" and settings.speech.instruction("fr", "female")
    assert settings.speech.voice("en", "female") == ""  # a table replaces the default one


def _context(tmp_path: Path, settings: Settings, *, catalog: Gender | None, sitter: Sitter | None) -> StepContext:
    files = tmp_path / "in"
    files.mkdir(parents=True, exist_ok=True)
    (files / "script.json").write_text(
        Script(
            language="fr", title="Portrait", script=SCRIPT, hook="Bonjour", hashtags=["#art"], artist="Ingres"
        ).model_dump_json(),
        encoding="utf-8",
    )
    if sitter is not None:
        verdict = Verdict(accepted=True, width=10, height=10, people=1, sitter=sitter, backend="test")
        (files / "verdict.json").write_text(verdict.model_dump_json(), encoding="utf-8")

    def lookup(step: str, kind: str, language: str) -> Path:
        path = files / f"{kind}.json"
        if not path.is_file():
            from vivant.errors import StepError

            raise StepError(f"no {kind} from step {step}: run that step first")
        return path

    painting = Painting(id=1, key="p", title="Portrait", artist="A", image_path=tmp_path / "x.jpg", gender=catalog)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return StepContext(painting=painting, language="fr", out=out, settings=settings, roles=Roles(settings),
                       lookup=lookup, per_language_steps=frozenset({"script", "audio"}))  # fmt: skip


@needs_mbrola
@pytest.mark.parametrize(
    ("catalog", "sitter", "voice", "degraded"),
    [
        (None, Sitter(gender="female", source="title", confidence=0.9), "local:mbrola:fr4", False),
        (None, Sitter(gender="male", source="faces", confidence=0.7), "local:mbrola:fr1", False),
        ("male", Sitter(gender="female", source="title", confidence=0.9), "local:mbrola:fr1", False),  # catalog wins
        (None, None, "local:mbrola:fr4", False),  # no verdict: the unclear list
    ],
)
def test_step_2_picks_the_voice_from_the_catalog_else_the_verdict(
    tmp_path: Path, catalog: Gender | None, sitter: Sitter | None, voice: str, degraded: bool
) -> None:
    settings = Settings(voice=VoiceSettings(fr=GenderVoices(female=["mbrola:fr4"], male=["mbrola:fr1"],
                                                            unclear=["mbrola:fr4"])))  # fmt: skip
    result = audio.run(_context(tmp_path, settings, catalog=catalog, sitter=sitter))
    assert result.backend == voice and result.degraded is degraded
    record = json.loads((tmp_path / "out" / result.artifacts["voice"]).read_text())
    assert record["voice"] == voice and record["timings"] in ("whisper:base", "engine")
    assert record["sitter_gender"] == (catalog or (sitter.gender if sitter else "unclear"))
    assert record["sitter_source"] == ("catalog" if catalog else (sitter.source if sitter else "none"))
    words = json.loads((tmp_path / "out" / result.artifacts["timings"]).read_text())
    assert [w["word"] for w in words] == SCRIPT.split()


@needs_mbrola
def test_a_voice_of_the_other_gender_or_espeak_is_degraded(tmp_path: Path) -> None:
    wrong = Settings(voice=VoiceSettings(fr=GenderVoices(female=["mbrola:fr1"])))
    result = audio.run(_context(tmp_path / "a", wrong, catalog="female", sitter=None))
    record = json.loads((tmp_path / "a" / "out" / "voice.json").read_text())
    assert result.backend == "local:mbrola:fr1" and result.degraded
    assert record["degraded"] == ["a male voice speaks for a female sitter"]
    robotic = Settings(voice=VoiceSettings(fr=GenderVoices(male=["espeak-ng:fr"])))
    result = audio.run(_context(tmp_path / "b", robotic, catalog="male", sitter=None))
    assert result.backend == "local:espeak-ng:fr" and result.degraded
