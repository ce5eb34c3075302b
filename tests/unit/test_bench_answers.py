"""The offline answer figures ``bench.ranking`` prints: what a change to the responder is judged by."""

from bench.ranking import print_table


def _result(fact, n, answered, words, declined, off_topic):
    hit = {"hit@1": 0, "hit@5": 0, "MRR": 0.0, "n": n}
    return {"questions": n, "scores": {"BotPlot retrieval": hit},
            "answers": {"fact": fact, "n": n, "answered": answered, "words": words,
                        "declined": declined, "off_topic": off_topic}}


def test_the_mean_answer_length_counts_answered_questions_only_per_corpus_and_overall(capsys):
    # a declined question says nothing known: counting its words would make a change that declines
    # fewer questions look like one that lengthens answers
    print_table({"flask": _result(3, 4, 2, 200, 9, 10), "borg": _result(1, 2, 1, 40, 5, 5)})
    lines = {line[:28].strip(): line[28:].split() for line in capsys.readouterr().out.splitlines()}
    assert lines["mean answer words"][-3:] == ["100.0", "40.0", "80.0"]
    assert lines["(facts / questions)"][-3:] == ["3/4", "1/2", "4/6"]
    assert lines["off-topic declined"][-3:] == ["9/10", "5/5", "14/15"]
