"""Lesson 05: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of (body, words the hint must contain); the first is planted into a
copy of the solution notebook by ``test_notebooks.py``.
"""

# The answer function's parameters, as the exercise notebook declares them.
SIGNATURES = {
    "05.adam_step": "param, grad, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8",
    "05.keras_rmsprop_match": "",
    "05.which_optimizer": "",
}

REFERENCE = {
    # Lesson 05: adaptive optimizers
    "05.adam_step": (
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "new = param - lr * (m / (1 - beta_1**t)) / (np.sqrt(v / (1 - beta_2**t)) + epsilon)\n"
        "return new, {'step': t, 'm': m, 'v': v}"
    ),
    "05.keras_rmsprop_match": (
        "import keras\n"
        "return keras.optimizers.RMSprop(learning_rate=0.01, rho=0.99, epsilon=1e-8)"
    ),
    "05.which_optimizer": "return {'A': 'momentum', 'B': 'adam', 'C': 'sgd', 'D': 'adagrad'}",
}

WRONG_ANSWERS = {
    # Lesson 05: adaptive optimizers
    "05.adam_step": [
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "m_hat, v_hat = m, v\n"
        "new = param - lr * m_hat / (np.sqrt(v_hat) + epsilon)\n"
        "return new, {'step': t, 'm': m, 'v': v}",
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)\n"
        "new = param - alpha * m / (np.sqrt(v) + epsilon)\n"
        "return new, {'step': t, 'm': m, 'v': v}",
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)\n"
        "new = param - lr * m_hat / (np.sqrt(v_hat + epsilon))\n"
        "return new, {'step': t, 'm': m, 'v': v}",
        "t = state['step']\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)\n"
        "new = param - lr * m_hat / (np.sqrt(v_hat) + epsilon)\n"
        "return new, {'step': t + 1, 'm': m, 'v': v}",
        "t = state['step'] + 2\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)\n"
        "new = param - lr * m_hat / (np.sqrt(v_hat) + epsilon)\n"
        "return new, {'step': t - 1, 'm': m, 'v': v}",
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)\n"
        "new = param - lr * m_hat / (np.sqrt(v_hat) + epsilon)\n"
        "return new, {'step': t - 1, 'm': m, 'v': v}",
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)\n"
        "new = param - lr * m_hat / (np.sqrt(v_hat) + epsilon)\n"
        "return new",
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "new = param - lr * (m / (1 - beta_1**t)) / (np.sqrt(v) + epsilon)\n"
        "return new, {'step': t, 'm': m, 'v': v}",
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "new = param - lr * m / (np.sqrt(v / (1 - beta_2**t)) + epsilon)\n"
        "return new, {'step': t, 'm': m, 'v': v}",
        "t = state['step'] + 1\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "m, v = m / (1 - beta_1**t), v / (1 - beta_2**t)\n"
        "new = param - lr * m / (np.sqrt(v) + epsilon)\n"
        "return new, {'step': t, 'm': m, 'v': v}",
        "t = state['step']\n"
        "m = beta_1 * state['m'] + (1 - beta_1) * grad\n"
        "v = beta_2 * state['v'] + (1 - beta_2) * grad**2\n"
        "c1, c2 = (1 - beta_1**t, 1 - beta_2**t) if t > 0 else (1.0, 1.0)\n"
        "new = param - lr * (m / c1) / (np.sqrt(v / c2) + epsilon)\n"
        "return new, {'step': t + 1, 'm': m, 'v': v}",
        "t = state['step'] + 1\n"
        "m = beta_2 * state['m'] + (1 - beta_2) * grad\n"
        "v = beta_1 * state['v'] + (1 - beta_1) * grad**2\n"
        "new = param - lr * (m / (1 - beta_2**t)) / (np.sqrt(v / (1 - beta_1**t)) + epsilon)\n"
        "return new, {'step': t, 'm': m, 'v': v}",
    ],
    "05.keras_rmsprop_match": [
        "import keras\nreturn keras.optimizers.RMSprop(learning_rate=0.01)",
        "import keras\nreturn keras.optimizers.RMSprop(rho=0.99, epsilon=1e-8)",
        "import keras\nreturn keras.optimizers.RMSprop(learning_rate=0.01, rho=0.99)",
        "import keras\n"
        "return keras.optimizers.RMSprop(learning_rate=0.01, rho=0.99, epsilon=1e-8, momentum=0.9)",
        "import keras\nreturn keras.optimizers.Adam(0.01)",
        "import torch\nreturn torch.optim.RMSprop([torch.zeros(1)], lr=0.01)",
        "import keras\n"
        "return keras.optimizers.RMSprop(0.01, rho=0.99, epsilon=1e-8, weight_decay=0.01)",
    ],
    "05.which_optimizer": [
        "return {'A': 'momentum', 'B': 'adagrad', 'C': 'sgd', 'D': 'adam'}",
        "return {'A': 'sgd', 'B': 'adam', 'C': 'momentum', 'D': 'adagrad'}",
        "return {'A': 'momentum', 'B': 'adam', 'C': 'sgd', 'D': 'rmsprop'}",
        "return {'A': 'momentum', 'B': 'adam', 'C': 'sgd'}",
        "return ['momentum', 'adam', 'sgd', 'adagrad']",
        "return {'A': 'adam', 'B': 'adam', 'C': 'sgd', 'D': 'adagrad'}",
        "return {'A': 'adagrad', 'B': 'sgd', 'C': 'momentum', 'D': 'adam'}",
    ],
}
