"""Load the demo site (a fictional firm's policies, terms, guides and FAQs, and its documents:
PDFs and a Word file in the document library, linked from the articles). Safe to rerun."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from content.documents.demo import demo_documents_ensure
from content.markdown import MarkdownImportError, parse_front_matter, parse_markdown_document
from content.services import article_create_or_skip, home_page_ensure, section_ensure

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo_content"
SECTION_ORDER = ["policies", "legal", "guides", "faqs"]


class Command(BaseCommand):
    help = "Create the demo home page, sections and articles. Existing pages (by slug) are left as they are."

    def add_arguments(self, parser):
        parser.add_argument(
            "--source", type=Path, default=DEMO_DIR, help="Folder of section folders of .md files."
        )

    def handle(self, *args, source: Path, verbosity: int = 1, **options):
        if not source.is_dir():
            raise CommandError(f"demo content folder not found: {source}")
        sections = sorted(
            # "_documents" (the generated documents' text) and "__pycache__" are not sections.
            (p for p in source.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))),
            key=lambda p: (SECTION_ORDER.index(p.name) if p.name in SECTION_ORDER else 99, p.name),
        )
        if not sections:
            raise CommandError(f"no section folders in {source}")
        home = home_page_ensure(
            intro="<p>Policies, terms, guides and answers for Northwind Ledger customers. "
            "Ask a question on any page to get an answer with sources.</p>"
        )
        created = skipped = 0
        for section_dir in sections:
            index_meta = {}
            if (section_dir / "_index.md").exists():
                index_meta, _ = parse_front_matter((section_dir / "_index.md").read_text(encoding="utf-8"))
            section, _ = section_ensure(
                home=home,
                title=index_meta.get("title", section_dir.name.title()),
                slug=section_dir.name,
                intro=index_meta.get("intro", ""),
            )
            files = sorted(p for p in section_dir.glob("*.md") if p.name != "_index.md")
            for number, path in enumerate(files, start=1):
                try:
                    doc = parse_markdown_document(path.read_text(encoding="utf-8"))
                except MarkdownImportError as err:
                    raise CommandError(f"{path}: {err}") from err
                _, was_created = article_create_or_skip(
                    parent=section, title=doc.title, slug=path.stem, intro=doc.intro, blocks=doc.blocks
                )
                created += was_created
                skipped += not was_created
                if verbosity >= 2:
                    state = "created" if was_created else "exists"
                    self.stdout.write(f"  [{number}/{len(files)}] {section_dir.name}/{path.stem}: {state}")
            self.stdout.write(f"{section.title}: {len(files)} pages")
        documents = demo_documents_ensure(home=home)
        self.stdout.write(
            f"Documents: {documents.created} uploaded, {documents.replaced} replaced, "
            f"{documents.unchanged} unchanged; {len(documents.linked)} article link(s) added"
        )
        self.stdout.write(
            self.style.SUCCESS(f"Demo content ready: {created} pages created, {skipped} already present.")
        )
