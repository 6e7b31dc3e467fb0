"""The `[knowledge]` section: knowledge's own settings, which the app's settings embed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from knowledge.archive_limits import DEFAULT_MAX_UNPACKED_BYTES
from knowledge.ingest.addresses import checked_address
from knowledge.ingest.languages import language_code
from knowledge.web.settings import SiteSource

BRUTE_FORCE_MAX_CHUNKS = 50_000


class FolderSource(BaseModel):
    """A folder of files, like one of `knowledge.paths`, whose documents have public addresses."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["folder"] = "folder"
    path: Path = Field(description="the folder (or one file), relative to the working folder")
    base_url: str = Field(
        "",
        description="the public address of the folder: a file's citation links to it plus the file's path "
        "without its extension (`billing/refunds.md` → `<base_url>/billing/refunds`); a file's own front "
        "matter `url:` wins",
    )
    language: str = Field(
        "",
        description="the language the folder's documents are written in (ISO 639-1: `de`, `es`): customers "
        "writing in it are answered from them first; a file's own front matter `language:` wins; empty = "
        "a folder of its path named like a language (`help/de/`), else unsaid (the hub's default language)",
    )

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        return checked_address(value)

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str) -> str:
        if not value.strip():
            return ""
        code = language_code(value)
        if code is None:
            raise ValueError(f"{value!r} is not the code of a language (ISO 639-1, e.g. de, es, pt)")
        return code


class KnowledgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    paths: list[Path] = Field(
        default_factory=lambda: [Path("config/knowledge")],
        description="folders and files `reindex` indexes, relative to the working folder; citations name a file relative to it",
    )
    sources: list[Annotated[FolderSource | SiteSource, Field(discriminator="kind")]] = Field(
        default_factory=list,
        description="more places `reindex` indexes, as `[[knowledge.sources]]` entries: kind `folder` (a "
        "folder with a public `base_url`), `sitemap` or `site` (a help centre's website)",
    )
    max_removed_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a re-index that would remove more than this share of the indexed documents stops and "
        "says why, removing nothing (`supporthub reindex --force` goes ahead); 1 = never stop",
    )
    model: str = Field("", description="sentence-transformers model name or path; empty = bundled all-MiniLM-L6-v2")
    collection: str = Field(
        "knowledge",
        min_length=3,
        description="the name of the index's collection (several hubs may share one Chroma server)",
    )
    chroma_url: str = Field("", description="Chroma server URL; empty = embedded PersistentClient in data_dir")
    chunk_max_chars: int = Field(1200, ge=200, le=20000, description="the longest passage a document is cut into")
    max_unpacked_bytes: int = Field(
        DEFAULT_MAX_UNPACKED_BYTES,
        ge=1024 * 1024,
        description="what a docx, xlsx or pptx may unpack to; larger ones are skipped",
    )
    embed_batch_size: int = Field(64, ge=1, le=1024, description="passages embedded per batch at `reindex`")
    brute_force_max_chunks: int = Field(
        BRUTE_FORCE_MAX_CHUNKS,
        ge=0,
        description="up to this many chunks, dense search is exact over vectors held in memory "
        "(77 MB at 50,000); past it, chroma's approximate HNSW index",
    )
    query_workers: int = Field(0, ge=0, le=64, description="threads encoding queries in `serve`; 0 = one per core")
    rehearsals: Path = Field(
        Path("config/rehearsals"), description="the team's rehearsals (*.yaml), run by the gate of every re-index"
    )
    rehearsal_gate: Literal["block", "warn", "off"] = Field(
        "warn",
        description="after a re-index, a rehearsal that passed before and fails now: `block` keeps the index "
        "live before it, `warn` logs it and goes live, `off` runs no rehearsal (none without rehearsals)",
    )

    @field_validator("sources")
    @classmethod
    def _unique_site_names(cls, sources: list[FolderSource | SiteSource]) -> list[FolderSource | SiteSource]:
        names = [source.name for source in sources if isinstance(source, SiteSource)]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"two website sources are named {', '.join(twice)}: a name is its pages' origin")
        return sources

    def folders(self) -> list[FolderSource]:
        """What `reindex` indexes from files: the folder sources, then `paths` (a file under
        both is the source's, with its `base_url`)."""
        sources = [source for source in self.sources if isinstance(source, FolderSource)]
        return [*sources, *(FolderSource(path=path) for path in self.paths)]

    def sites(self) -> list[SiteSource]:
        """The website sources `reindex` crawls."""
        return [source for source in self.sources if isinstance(source, SiteSource)]
