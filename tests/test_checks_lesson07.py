"""Lesson 07's checkers name the mistake: single runs, means without spread, test data,
epochs instead of steps, reversed or equal rates; and answers written differently pass."""

import pytest
from answers import WRONG_ANSWERS
from test_checks import as_function

from lrcourse.checks import Status, check


@pytest.mark.parametrize("question_id, index, words", [
    ("07.choose_recipe", 0, "seed-to-seed spread"),
    ("07.choose_recipe", 1, "one seed is one draw"),
    ("07.choose_recipe", 2, "you chose on the test scores"),
    ("07.schedule_from_range_test", 0, "you scheduled in epochs"),
    ("07.schedule_from_range_test", 1, "the peak is too high"),
    ("07.schedule_from_range_test", 2, "decay_steps"),
    ("07.schedule_from_range_test", 3, "yours starts at the peak"),
    ("07.discriminative_optimizer", 0, "reversed"),
    ("07.discriminative_optimizer", 1, "all groups got one rate"),
    ("07.discriminative_optimizer", 2, "off by one"),
    ("07.discriminative_optimizer", 3, "in no param group"),
])
def test_lesson_07_hints_name_the_mistake(question_id, index, words):
    result = check(question_id, as_function(question_id, WRONG_ANSWERS[question_id][index]))
    assert result.status is Status.WRONG
    assert words in result.hint or words in result.message, result.row()


@pytest.mark.parametrize("question_id, index, words", [
    ("07.choose_recipe", 3, "expected 'a', received 'tied'"),
    ("07.choose_recipe", 4, "received NoneType"),
    ("07.schedule_from_range_test", 4, "expected a function step -> learning rate"),
    ("07.discriminative_optimizer", 4, "expected a torch.optim.SGD, received Adam"),
])
def test_lesson_07_messages_say_what_was_expected(question_id, index, words):
    result = check(question_id, as_function(question_id, WRONG_ANSWERS[question_id][index]))
    assert result.status is Status.WRONG and words in result.message, result.row()


OTHER_RIGHT_ANSWERS = [
    ("07.choose_recipe",
     "from lrcourse.compare import compare_runs\n"
     "return compare_runs(a['validation'], b['validation']).verdict"),
    ("07.schedule_from_range_test",  # Keras's built-in, decay_steps after the warmup
     "import keras\n"
     "total = num_epochs * steps_per_epoch\n"
     "warmup = round(0.1 * total)\n"
     "return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target="
     "result.suggested_lr, warmup_steps=warmup)"),
    ("07.schedule_from_range_test",  # plain Python
     "total = num_epochs * steps_per_epoch\n"
     "warmup = round(0.1 * total)\n"
     "peak = result.suggested_lr\n"
     "def rate(step):\n"
     "    if step < warmup:\n"
     "        return peak * step / warmup\n"
     "    done = min(step - warmup, total - warmup) / (total - warmup)\n"
     "    return peak * 0.5 * (1 + math.cos(math.pi * done))\n"
     "return rate"),
    ("07.discriminative_optimizer",  # lesson 03's helper
     "import torch\n"
     "from lrcourse.torch_utils import param_groups\n"
     "names = [name for name, _ in model.named_children()]\n"
     "rules = {name: decay ** (len(names) - 1 - i) for i, name in enumerate(names)}\n"
     "return torch.optim.SGD(param_groups(model, rules, lr=lr), momentum=0.9)"),
]


@pytest.mark.parametrize("question_id, body", OTHER_RIGHT_ANSWERS)
def test_lesson_07_answers_written_differently_pass(question_id, body):
    result = check(question_id, as_function(question_id, body))
    assert result.status is Status.PASS, result.row()
