"""The sections of ``vivant.toml`` for the morning: the review page, the publisher and the batch report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from vivant.config.base import Section
from vivant.languages import Language


class ReviewSettings(Section):
    """The morning review page (``vivant review``)."""

    host: str = "127.0.0.1"
    """Bound to loopback by default; any other address needs a token."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8765
    """Port of the review page."""
    token_env: str = "VIVANT_REVIEW_TOKEN"
    """Environment variable holding the page's token (needed when ``host`` is not loopback)."""
    token_file: Path | None = None
    """A file holding the token instead (relative to the workspace)."""
    allowed_hosts: list[str] = []
    """Host names the page may be reached by besides ``host``, localhost and IP addresses (e.g. "pi.home.lan");
    any other Host header is refused (DNS rebinding)."""


PublishPlatform = Literal["folder", "youtube", "tiktok", "instagram"]


class YouTubeSettings(Section):
    api_base: str = "https://www.googleapis.com"
    """The YouTube Data API's address."""
    privacy: Literal["private", "unlisted", "public"] = "private"
    """Privacy after publication; with ``schedule`` the video stays private until its slot (``publishAt``)."""
    schedule: bool = True
    """Keep the video private until its slot (``publishAt``)."""
    category_id: str = "27"
    """YouTube category (27: Education)."""
    made_for_kids: bool = False
    """Sent explicitly as ``status.selfDeclaredMadeForKids`` with every upload."""
    audited: bool = False
    """Whether Google audited this API project; until then every upload stays private, whatever ``privacy``."""
    posts_per_24h: Annotated[int, Field(ge=0, le=1000)] = 6
    """Uploads in any 24 hours (the default 10,000 quota units a day buy 6 uploads at 1,600 each); 0: no cap."""
    chunk_bytes: Annotated[int, Field(ge=262144)] = 8 * 1024 * 1024
    """Upload chunk size (a multiple of 256 KiB)."""


class TikTokSettings(Section):
    api_base: str = "https://open.tiktokapis.com"
    """The TikTok Content Posting API's address."""
    privacy_level: str = "SELF_ONLY"
    """Unaudited apps can only post SELF_ONLY."""
    audited: bool = False
    """Whether TikTok audited this client; until then posts are SELF_ONLY (and the account must be private)."""
    posts_per_24h: Annotated[int, Field(ge=0, le=1000)] = 15
    """Posts in any 24 hours (TikTok caps Direct Post per creator, about 15 a day); 0: no cap."""


class InstagramSettings(Section):
    api_base: str = "https://graph.facebook.com/v21.0"
    """The Instagram Graph API's address, with its version."""
    upload_base: str = "https://rupload.facebook.com"
    """The resumable upload host."""
    share_to_feed: bool = True
    """Also show the reel in the feed."""
    posts_per_24h: Annotated[int, Field(ge=0, le=1000)] = 25
    """API posts in any 24 hours (Instagram's limit, also read from ``content_publishing_limit``); 0: no cap."""


class PublishSettings(Section):
    """The publisher (``vivant publish``): how many paintings a day, when, where."""

    per_day: Annotated[int, Field(ge=0, le=100)] = 5
    """Paintings published a day (each on every enabled platform and language)."""
    platforms: list[PublishPlatform] = ["folder"]
    """Where to post, of folder, youtube, tiktok, instagram."""
    languages: list[Language] = []
    """Languages to publish (empty: every language of the batch)."""
    times: dict[str, list[Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}$")]]] = {
        "youtube": ["09:00", "12:00", "15:00", "18:00", "21:00"],
        "tiktok": ["09:30", "12:30", "15:30", "18:30", "21:30"],
        "instagram": ["10:00", "13:00", "16:00", "19:00", "22:00"],
    }
    """Local times of the day's slots by "platform" or "platform.language"; a platform without times posts at once."""
    credentials: Path = Path("credentials.toml")
    """The tokens, in their own file (relative to the workspace; keep it 0600)."""
    folder: Path = Path("published")
    """Target of the folder exporter (relative to the workspace)."""
    attempts: Annotated[int, Field(ge=1, le=20)] = 5
    """Tries per post, with ``backoff_seconds`` x 2^n between them."""
    backoff_seconds: Annotated[float, Field(ge=0)] = 60.0
    """Pause before the first retry of a post."""
    youtube: YouTubeSettings = YouTubeSettings()
    tiktok: TikTokSettings = TikTokSettings()
    instagram: InstagramSettings = InstagramSettings()


class ReportSettings(Section):
    """The batch report: the power each resource draws and the electricity price, for the cost per video.

    The defaults model the seed's homelab (one 450 W image/video GPU, two LLM GPUs, an EPYC host) and give its
    published €0.0193 a video at €0.1579/kWh. When the GPU host's energy can be read (NVML through
    ``nvidia-ml-py``, or a Prometheus exporter), the measured energy replaces the estimate for those resources.
    """

    watts: dict[str, Annotated[float, Field(ge=0)]] = {"gpu": 450.0, "llm": 600.0, "cpu": 65.0}
    """Power drawn by each resource while it computes."""
    idle_watts: dict[str, Annotated[float, Field(ge=0)]] = {"gpu": 30.0, "llm": 60.0, "cpu": 15.0}
    """Power drawn by each resource used in the night while it waits."""
    host_watts: Annotated[float, Field(ge=0)] = 225.0
    """The rest of the machine (board, memory, disks, fans), all night long."""
    gpu_resources: list[str] = ["gpu", "llm"]
    """Resources that are GPUs (the others, such as ``cpu``, are CPU substitutes or plain CPU work)."""
    primary_resource: str = "gpu"
    """The GPU whose compute and efficiency make the headline (the image and video GPU)."""
    price_per_kwh: Annotated[float, Field(ge=0)] = 0.2081
    """Electricity price."""
    off_peak_price_per_kwh: Annotated[float, Field(ge=0)] | None = 0.1579
    """Price during ``off_peak_hours`` (not set: one price)."""
    off_peak_hours: list[Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$")]] = ["22:00-08:00"]
    """Local-time ranges ("HH:MM-HH:MM", may cross midnight) billed at the off-peak price."""
    currency: str = "€"
    """Shown after prices."""
    nvml_devices: dict[str, list[int]] = {"gpu": [0]}
    """NVML device indexes of each resource whose energy is measured when ``nvidia-ml-py`` can read it."""
    exporter_url: str = ""
    """A Prometheus exporter (e.g. DCGM) to read the GPU energy from instead of NVML; empty: none."""
    exporter_metric: str = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
    """A counter in millijoules; every series of it is added up into ``exporter_resource``."""
    exporter_resource: str = "gpu"
    """The resource whose energy the exporter measures."""
