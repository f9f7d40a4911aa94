"""Build ``paraphrase_pairs.json``: question pairs labelled "same question" (1) or not (0), for
tuning ``AI_CORE["APPROVED_ANSWERS"]["MIN_SIMILARITY"]`` (bench/answer_reuse_threshold.py).

A reused approved answer is only right when the new question asks exactly what the approved one
asked, so the negatives are the hard ones: same topic, often the same page, a different question.

- Positives, hand-written: rewordings of the demo site's questions (``rag_eval.json``, ours) and
  of questions from the Debian and Python FAQs (third-party text): a word changed, reordered,
  informal, shorter or longer.
- Negatives from third-party text: consecutive questions of the same Python FAQ chapter and of the
  same Debian FAQ section (``*_faq_eval.json``): same subject, different question, nobody on this
  project wrote either side.
- Negatives from the demo set: every two questions answered by the same page (``rag_eval.json``):
  the retrieval set counts them as one page's questions, yet their answers differ.
- Negatives, hand-written: near-identical wording that changes the question ("refund" vs
  "refund on sale items", "cancel" vs "pause", "monthly" vs "yearly").

Deterministic (stdlib only): ``python3 tests/data/build_paraphrase_pairs.py``.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (question as approved, a later visitor's rewording)
DEMO_PARAPHRASES = [
    (
        "How long do you take to answer a subject access request?",
        "How long does it take you to reply to a subject access request?",
    ),
    (
        "How long do you take to answer a subject access request?",
        "how quickly do you respond to a data subject access request",
    ),
    (
        "Who is your data protection officer and how can I reach them?",
        "Who's your DPO and how do I contact them?",
    ),
    (
        "Will you send me marketing emails without asking first?",
        "Do you send marketing emails without my consent?",
    ),
    ("Do you use advertising or tracking cookies?", "Do you use any tracking or advertising cookies?"),
    (
        "How long does the analytics cookie stay on my computer?",
        "How long does the analytics cookie last on my computer?",
    ),
    (
        "How do I switch off the optional cookies I accepted earlier?",
        "How can I turn off optional cookies I already accepted?",
    ),
    (
        "If we cancel, how long until our books are permanently wiped?",
        "After we cancel, how long before our books are permanently deleted?",
    ),
    (
        "How long do you keep recordings of phone calls to support?",
        "How long are support call recordings kept?",
    ),
    (
        "When does deleted information disappear from your backups?",
        "When is deleted data removed from your backups?",
    ),
    ("What's the API rate limit per minute?", "What is the API rate limit per minute?"),
    ("What's the API rate limit per minute?", "how many API requests per minute am I allowed"),
    (
        "Can a few of us just share one username and password?",
        "Can several of us share one username and password?",
    ),
    (
        "Can you shut down our workspace without any warning?",
        "Can you close our workspace without warning us?",
    ),
    (
        "I'm unhappy with how support treated me, how do I make a formal complaint?",
        "How do I make a formal complaint about how support treated me?",
    ),
    (
        "How long will it take to get a written reply to my complaint?",
        "How long until I get a written response to my complaint?",
    ),
    (
        "Can your account manager accept a gift voucher from us as a thank you?",
        "Is your account manager allowed to accept a gift voucher from us as thanks?",
    ),
    ("Is there a confidential whistleblowing hotline?", "Do you have a confidential whistleblowing hotline?"),
    (
        "Which country's law governs our contract with you?",
        "Which country's law applies to our contract with you?",
    ),
    (
        "How much warning do you give before putting up the price of an annual subscription?",
        "How much notice do you give before raising the price of an annual subscription?",
    ),
    (
        "Can I get my money back after 20 days on a yearly plan?",
        "Can I get a refund after 20 days on an annual plan?",
    ),
    ("How long does a refund take to reach my card?", "How long do refunds take to get back to my card?"),
    ("How long does a refund take to reach my card?", "how long does it take for a refund to reach my card"),
    ("How long does a refund take to reach my card?", "How long does a refund take to arrive on my card?"),
    ("What uptime do you promise?", "What uptime do you guarantee?"),
    ("When do you carry out scheduled maintenance?", "When do you do scheduled maintenance?"),
    (
        "How quickly will someone respond if the whole system goes down?",
        "If the whole system goes down, how quickly will someone respond?",
    ),
    (
        "How fast will you tell us if our customers' details are involved in a breach?",
        "How quickly will you tell us if our customers' details are involved in a data breach?",
    ),
    ("Are we allowed to audit you for GDPR compliance?", "Can we audit you for GDPR compliance?"),
    (
        "Who owns the financial information we put into the system?",
        "Who owns the financial data we put into the system?",
    ),
    ("Will you use our ledger data to train AI models?", "Do you use our ledger data to train AI models?"),
    ("Can we put your logo on our own website?", "Are we allowed to put your logo on our website?"),
    (
        "How long is the free trial and do I have to give card details?",
        "How long is the free trial, and do I need to give my card details?",
    ),
    (
        "Can we book a free setup call with one of your specialists?",
        "Can we book a free set-up call with one of your specialists?",
    ),
    ("How do I download a complete copy of all my books?", "How can I download a full copy of all my books?"),
    (
        "How long does the download link for my export keep working?",
        "How long does my export's download link keep working?",
    ),
    (
        "Can I get my transactions out as JSON rather than a spreadsheet?",
        "Can I export my transactions as JSON instead of a spreadsheet?",
    ),
    ("Can I receive my login codes by text message?", "Can I get my login codes by text message?"),
    (
        "I lost the phone with my authenticator app on it, how do I get back in?",
        "I've lost the phone with my authenticator app, how do I get back in?",
    ),
    ("How can I force everyone on my team to use 2FA?", "How can I make everyone on my team use 2FA?"),
    (
        "What access should I give our external accountant?",
        "What access should our external accountant have?",
    ),
    (
        "How do I remove an employee who has left so they can't log in any more?",
        "How do I remove an employee who left so they can no longer log in?",
    ),
    (
        "Where can I download past invoices for our subscription?",
        "Where can I download previous invoices for our subscription?",
    ),
    ("Can we pay you by Direct Debit?", "Can we pay by Direct Debit?"),
    (
        "What happens if our card payment gets declined at renewal?",
        "What happens if our card payment is declined at renewal?",
    ),
    (
        "Can you show our purchase order number on your invoices?",
        "Can you put our purchase order number on your invoices?",
    ),
    ("Do you charge to move our data across for us?", "Do you charge for moving our data across for us?"),
    ("How much is the Professional plan per month?", "How much does the Professional plan cost per month?"),
    ("Do charities get money off?", "Do charities get a discount?"),
    ("Is it cheaper if we pay for the year up front?", "Is it cheaper to pay for the year up front?"),
    ("Can we be billed in euros?", "Can you bill us in euros?"),
    (
        "Is our data encrypted when it's stored on your servers?",
        "Is our data encrypted when stored on your servers?",
    ),
    ("Are you ISO 27001 certified?", "Do you have ISO 27001 certification?"),
    (
        "I think I've found a security hole in your app, how do I report it?",
        "How do I report a security hole I think I've found in your app?",
    ),
    (
        "Why do I get logged out when I leave the app idle for a while?",
        "Why am I logged out when I leave the app idle for a while?",
    ),
    (
        "Can I look after two companies with a single login?",
        "Can I manage two companies with a single login?",
    ),
    (
        "How do I change the email address I sign in with?",
        "How can I change the email address I use to sign in?",
    ),
    ("Does the app work with a screen reader?", "Does the app work with screen readers?"),
    ("Which WCAG level do you meet?", "What WCAG level do you meet?"),
    ("What time does your phone line close?", "What time does your phone line shut?"),
    ("Is anyone available to help on a Saturday?", "Is anyone available to help on Saturdays?"),
    ("Are you open between Christmas and New Year?", "Are you open between Christmas and New Year's Day?"),
]

THIRD_PARTY_PARAPHRASES = [
    (
        "Why does Python use indentation for grouping of statements?",
        "Why does Python use indentation to group statements?",
    ),
    (
        "Why are floating-point calculations so inaccurate?",
        "Why are floating point calculations so imprecise?",
    ),
    ("Why are Python strings immutable?", "Why are strings immutable in Python?"),
    (
        "Can Python be compiled to machine code, C or some other language?",
        "Can Python be compiled into machine code, C or another language?",
    ),
    ("How are dictionaries implemented in CPython?", "How does CPython implement dictionaries?"),
    ("Why was Python created in the first place?", "Why was Python created?"),
    (
        "Is there a newsgroup or mailing list devoted to Python?",
        "Is there a mailing list or newsgroup for Python?",
    ),
    ("Why is it called Python?", "Why is the language called Python?"),
    ("Why is Python installed on my machine?", "Why is Python installed on my computer?"),
    ("How do I send mail from a Python script?", "How do I send email from a Python script?"),
    (
        "Are there tools to help find bugs or perform static analysis?",
        "Are there tools that help find bugs or do static analysis?",
    ),
    ("How do I share global variables across modules?", "How can I share global variables between modules?"),
    (
        'Is there an equivalent of C\'s "?:" ternary operator?',
        "Is there an equivalent to C's ?: ternary operator?",
    ),
    ("How do I convert a string to a number?", "How can I convert a string into a number?"),
    ("How do I iterate over a sequence in reverse order?", "How do I loop over a sequence in reverse order?"),
    (
        "How can I have modules that mutually import each other?",
        "How can I have two modules that import each other?",
    ),
    (
        "How do I make an executable from a Python script?",
        "How do I create an executable from a Python script?",
    ),
    ("What is Debian GNU/Linux?", "What is Debian GNU/Linux exactly?"),
    (
        "Will there be different versions of packages in different distributions?",
        "Are there different versions of packages in different distributions?",
    ),
    (
        "How compatible is Debian with other distributions of Linux?",
        "How compatible is Debian with other Linux distributions?",
    ),
    (
        "How can I ensure that all programs use the same paper size?",
        "How do I make sure all programs use the same paper size?",
    ),
    ("Where do these codenames come from?", "Where do the codenames come from?"),
    ("What is a Virtual Package?", "What is a virtual package?"),
    (
        "How can I find out what package produced a particular file?",
        "How can I find out which package a particular file came from?",
    ),
    (
        "How can I install a developer's environment to build packages?",
        "How do I install a developer environment to build packages?",
    ),
    (
        "I have several machines; how can I download the updates only one time?",
        "I have several machines; how can I download updates only once?",
    ),
]

# Same words, different question: a reused answer here would be wrong.
HAND_NEGATIVES = [
    ("How long do refunds take?", "Can I get a refund on sale items?"),
    (
        "How long does a refund take to reach my card?",
        "How long does a refund take to reach my bank account?",
    ),
    (
        "Can I get my money back after 20 days on a yearly plan?",
        "Can I get my money back after 20 days on a monthly plan?",
    ),
    (
        "Can I get my money back after 20 days on a yearly plan?",
        "Can I get my money back after 40 days on a yearly plan?",
    ),
    ("Can I cancel my subscription at any time?", "Can I pause my subscription at any time?"),
    ("How do I cancel my subscription?", "How do I upgrade my subscription?"),
    ("How much is the Professional plan per month?", "How much is the Enterprise plan per month?"),
    ("How much is the Professional plan per month?", "How much is the Professional plan per year?"),
    ("Can we be billed in euros?", "Can we be billed in dollars?"),
    ("Can we pay you by Direct Debit?", "Can we pay you by credit card?"),
    ("What time does your phone line close?", "What time does your phone line open?"),
    ("Is anyone available to help on a Saturday?", "Is anyone available to help on a Sunday?"),
    ("Does the app work with a screen reader?", "Does the app work on a tablet?"),
    ("Can I receive my login codes by text message?", "Can I receive my invoices by text message?"),
    ("How long do you keep recordings of phone calls to support?", "Do you record phone calls to support?"),
    ("How long is the free trial?", "Is the free trial free for charities?"),
    (
        "Who owns the financial information we put into the system?",
        "Who can see the financial information we put into the system?",
    ),
    ("How do I change the email address I sign in with?", "How do I change the password I sign in with?"),
    ("Are you ISO 27001 certified?", "Are you SOC 2 certified?"),
    ("What uptime do you promise?", "What happens if you miss the uptime you promise?"),
    (
        "How do I download a complete copy of all my books?",
        "How do I delete a complete copy of all my books?",
    ),
    ("Can I look after two companies with a single login?", "Can two people share a single login?"),
    ("How do I remove an employee who has left?", "How do I add an employee who has just joined?"),
    ("Do charities get money off?", "Do students get money off?"),
    ("When do you carry out scheduled maintenance?", "Do you warn us before scheduled maintenance?"),
    ("How fast will you tell us about a data breach?", "How fast will you fix a data breach?"),
    ("How do I convert a string to a number?", "How do I convert a number to a string?"),
    ("How do I iterate over a sequence in reverse order?", "How do I sort a sequence in reverse order?"),
]


def _normalise(text: str) -> str:
    return text.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')


def _faq_neighbours(name: str, *, chapter: re.Pattern) -> list[tuple[str, str]]:
    """Consecutive questions of one chapter/section (their pages' ids share the chapter part)."""
    queries = json.loads((HERE / name).read_text())["queries"]
    labelled = [(q["relevant"][0], _normalise(q["query"])) for q in queries if len(q["relevant"]) == 1]
    pairs = []
    for (page_a, a), (page_b, b) in itertools.pairwise(labelled):
        if page_a != page_b and chapter.match(page_a).group(1) == chapter.match(page_b).group(1) and a != b:
            pairs.append((a, b))
    return pairs


def _demo_same_page() -> list[tuple[str, str]]:
    queries = json.loads((HERE / "rag_eval.json").read_text())["queries"]
    by_page: dict[str, list[str]] = {}
    for q in queries:
        if len(q["relevant"]) == 1:
            by_page.setdefault(q["relevant"][0], []).append(q["query"])
    return [pair for questions in by_page.values() for pair in itertools.combinations(questions, 2)]


def build() -> dict:
    pairs = []
    for kind, label, source, items in [
        ("paraphrase", 1, "demo (ours), hand-written rewording", DEMO_PARAPHRASES),
        ("paraphrase", 1, "Debian/Python FAQ question, hand-written rewording", THIRD_PARTY_PARAPHRASES),
        (
            "same_chapter",
            0,
            "Python FAQ (third-party)",
            _faq_neighbours("python_faq_eval.json", chapter=re.compile(r"python-faq-([a-z]+)-")),
        ),
        (
            "same_section",
            0,
            "Debian FAQ (third-party)",
            _faq_neighbours("debian_faq_eval.json", chapter=re.compile(r"debian-faq-(\d+)-")),
        ),
        ("same_page", 0, "demo (ours): two questions one page answers", _demo_same_page()),
        ("near_wording", 0, "hand-written minimal pairs", HAND_NEGATIVES),
    ]:
        pairs += [
            {"a": _normalise(a), "b": _normalise(b), "same": label, "kind": kind, "source": source}
            for a, b in items
        ]
    return {
        "about": "Question pairs for the approved-answer reuse threshold; built by build_paraphrase_pairs.py.",
        "pairs": pairs,
    }


if __name__ == "__main__":
    out = HERE / "paraphrase_pairs.json"
    out.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")
    data = json.loads(out.read_text())
    counts: dict[str, int] = {}
    for pair in data["pairs"]:
        counts[pair["kind"]] = counts.get(pair["kind"], 0) + 1
    print(out, counts)
