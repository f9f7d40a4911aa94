"""StreamField blocks for articles.

Every block instance carries a stable UUID (``block.id``) that Wagtail keeps across edits; the
templates render it as the HTML anchor ``block-<uuid>`` so AI citations can link to the exact block.
"""

from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.images.blocks import ImageChooserBlock


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=200)
    level = blocks.ChoiceBlock(choices=[("h2", "Heading 2"), ("h3", "Heading 3")], default="h2")

    class Meta:
        icon = "title"
        template = "content/blocks/heading.html"


class QuoteBlock(blocks.StructBlock):
    quote = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "openquote"
        template = "content/blocks/quote.html"


class ListBlock(blocks.StructBlock):
    style = blocks.ChoiceBlock(choices=[("ul", "Bulleted"), ("ol", "Numbered")], default="ul")
    items = blocks.ListBlock(blocks.CharBlock(max_length=1000))

    class Meta:
        icon = "list-ul"
        template = "content/blocks/list.html"


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(max_length=250, help_text="Describe the image for people who cannot see it.")
    caption = blocks.CharBlock(required=False, max_length=250)

    class Meta:
        icon = "image"
        template = "content/blocks/image.html"


class DocumentBlock(blocks.StructBlock):
    """A file from the document library (a policy PDF, a contract template), linked from the page.

    Questions asked on the page search the document too, and the page summary may cite it
    (``content.documents.links``); its own text is indexed as a document, not as page text.
    """

    document = DocumentChooserBlock()
    caption = blocks.CharBlock(required=False, max_length=250)

    class Meta:
        icon = "doc-full"
        template = "content/blocks/document.html"


class ArticleBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        features=["bold", "italic", "link", "document-link"], template="content/blocks/paragraph.html"
    )
    quote = QuoteBlock()
    list = ListBlock()
    image = ImageBlock()
    document = DocumentBlock()
