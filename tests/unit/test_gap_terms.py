"""How knowledge gaps are grouped: a question's terms ignore case, punctuation, filler words, word
order and plural or verb endings; the read-time merge joins wordings that share most terms."""

from botplot.services.gaps import similarity, suggested_question, terms


def test_other_words_for_the_same_question_share_their_terms():
    assert terms("What are your opening hours?") == terms("opening HOURS??") == terms("Hours of opening") == (
        "hour", "open")
    assert terms("Can I bring my dog to the store?") == terms("can i bring my dogs into your stores") == (
        "bring", "dog", "store")
    assert terms("Do you ship to Canada?") != terms("Do you ship to Mexico?")
    assert terms("Is it free?") == ("free",)
    assert terms("Who are you?") == ("are", "who", "you")  # nothing but filler: the words themselves


def test_stems_never_cut_short_words_or_double_s():
    assert terms("business address") == ("address", "business")
    assert terms("gas bus") == ("bus", "gas")
    assert terms("categories") == ("category",)
    assert terms("shipping boxes") == terms("ship box") == ("box", "ship")
    assert terms("prices stores") == ("price", "store")
    assert terms("falling") == ("fall",)


def test_merging_and_answering_need_half_the_terms_in_common():
    hours, sunday, open_ = set(terms("opening hours")), set(terms("opening hours on sunday")), set(terms("open?"))
    assert similarity(hours, sunday) >= 0.5 and similarity(hours, open_) >= 0.5
    assert similarity(sunday, set(terms("shipping on sunday"))) < 0.5


def test_a_suggested_question_reads_as_one():
    assert suggested_question("  what are   your opening hours  ") == "What are your opening hours?"
    assert suggested_question("Opening hours?") == "Opening hours?"
    assert suggested_question("Refunds please.") == "Refunds please?"
