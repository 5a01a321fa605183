"""Lesson 04: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of (body, words the hint must contain); the first is planted into a
copy of the solution notebook by ``test_notebooks.py``.
"""

# The answer function's parameters, as the exercise notebook declares them.
SIGNATURES = {
    "04.warmup_callback": "peak_lr, warmup_steps",
    "04.scheduler_order": "model, optimizer, scheduler, batches",
    "04.loss_trend_tf": "learning_rate, losses, count, loss",
}

REFERENCE = {
    # Lesson 04
    "04.warmup_callback": (
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_train_batch_begin(self, batch, logs=None):\n"
        "        step = int(self.model.optimizer.iterations.numpy())\n"
        "        rate = peak_lr * min(1.0, step / warmup_steps)\n"
        "        self.model.optimizer.learning_rate.assign(rate)\n"
        "return Warmup()"
    ),
    "04.scheduler_order": (
        "import torch\n"
        "for x, y in batches:\n"
        "    optimizer.zero_grad()\n"
        "    torch.nn.functional.cross_entropy(model(x), y).backward()\n"
        "    optimizer.step()\n"
        "    scheduler.step()"
    ),
    "04.loss_trend_tf": (
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([tf.reshape(loss, [1]), losses[:-1]], 0)\n"
        "count = count + 1.0\n"
        "rising = tf.reduce_mean(losses[:window // 2]) > tf.reduce_mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, tf.maximum(0.01, learning_rate * 0.95),\n"
        "                    tf.minimum(1.0, learning_rate * 1.05))\n"
        "return tf.where(count >= window, adjusted, learning_rate), losses, count"
    ),
}

WRONG_ANSWERS = {
    # Lesson 04
    "04.warmup_callback": [
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_train_batch_begin(self, batch, logs=None):\n"
        "        step = batch\n"
        "        rate = peak_lr * min(1.0, step / warmup_steps)\n"
        "        self.model.optimizer.learning_rate.assign(rate)\n"
        "return Warmup()",
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_train_batch_begin(self, batch, logs=None):\n"
        "        step = int(self.model.optimizer.iterations.numpy()) + 1\n"
        "        rate = peak_lr * min(1.0, step / warmup_steps)\n"
        "        self.model.optimizer.learning_rate.assign(rate)\n"
        "return Warmup()",
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_train_batch_end(self, batch, logs=None):\n"
        "        step = int(self.model.optimizer.iterations.numpy())\n"
        "        rate = peak_lr * min(1.0, step / warmup_steps)\n"
        "        self.model.optimizer.learning_rate.assign(rate)\n"
        "return Warmup()",
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_epoch_begin(self, batch, logs=None):\n"
        "        step = batch * 3\n"
        "        rate = peak_lr * min(1.0, step / warmup_steps)\n"
        "        self.model.optimizer.learning_rate.assign(rate)\n"
        "return Warmup()",
        "return None",
        "import keras\n"
        "return keras.callbacks.Callback()",
        # index 6: no min(1, ...), so the rate keeps growing after the warmup
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_train_batch_begin(self, batch, logs=None):\n"
        "        step = int(self.model.optimizer.iterations)\n"
        "        self.model.optimizer.learning_rate.assign(peak_lr * step / warmup_steps)\n"
        "return Warmup()",
        # index 7: integer division
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_train_batch_begin(self, batch, logs=None):\n"
        "        step = int(self.model.optimizer.iterations)\n"
        "        rate = peak_lr * min(1, step // warmup_steps)\n"
        "        self.model.optimizer.learning_rate.assign(rate)\n"
        "return Warmup()",
        # index 8: a counter that an on_epoch_begin hook resets
        "import keras\n"
        "class Warmup(keras.callbacks.Callback):\n"
        "    def on_epoch_begin(self, epoch, logs=None):\n"
        "        self.step = 0\n"
        "    def on_train_batch_begin(self, batch, logs=None):\n"
        "        rate = peak_lr * min(1.0, self.step / warmup_steps)\n"
        "        self.model.optimizer.learning_rate.assign(rate)\n"
        "        self.step += 1\n"
        "return Warmup()",
    ],
    "04.scheduler_order": [
        "import torch\n"
        "for x, y in batches:\n"
        "    optimizer.zero_grad()\n"
        "    torch.nn.functional.cross_entropy(model(x), y).backward()\n"
        "    scheduler.step()\n"
        "    optimizer.step()",
        "import torch\n"
        "for x, y in batches:\n"
        "    optimizer.zero_grad()\n"
        "    torch.nn.functional.cross_entropy(model(x), y).backward()\n"
        "    optimizer.step()\n"
        "scheduler.step()",
        "import torch\n"
        "for x, y in batches:\n"
        "    torch.nn.functional.cross_entropy(model(x), y).backward()\n"
        "    optimizer.step()\n"
        "    scheduler.step()",
        "import torch\n"
        "for x, y in batches:\n"
        "    optimizer.zero_grad()\n"
        "    torch.nn.functional.cross_entropy(model(x), y).backward()\n"
        "    optimizer.step()\n"
        "    scheduler.step()\n"
        "    scheduler.step()",
        "import torch\n"
        "for x, y in batches:\n"
        "    optimizer.zero_grad()\n"
        "    torch.nn.functional.cross_entropy(model(x), y).backward()\n"
        "    optimizer.step()\n"
        "    optimizer.step()\n"
        "    scheduler.step()",
    ],
    "04.loss_trend_tf": [
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([tf.reshape(loss, [1]), losses[:-1]], 0)\n"
        "count = count + 1.0\n"
        "rising = tf.reduce_mean(losses[:window // 2]) < tf.reduce_mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, tf.maximum(0.01, learning_rate * 0.95),\n"
        "                    tf.minimum(1.0, learning_rate * 1.05))\n"
        "return tf.where(count >= window, adjusted, learning_rate), losses, count",
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([tf.reshape(loss, [1]), losses[:-1]], 0)\n"
        "count = count + 1.0\n"
        "rising = tf.reduce_mean(losses[:window // 2]) > tf.reduce_mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, tf.maximum(0.01, learning_rate * 0.95),\n"
        "                    tf.minimum(1.0, learning_rate * 1.05))\n"
        "return tf.where(count >= 1, adjusted, learning_rate), losses, count",
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([tf.reshape(loss, [1]), losses[:-1]], 0)\n"
        "count = count + 1.0\n"
        "rising = tf.reduce_mean(losses[:window // 2]) > tf.reduce_mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, tf.maximum(0.01, learning_rate * 0.95),\n"
        "                    tf.minimum(1.0, learning_rate * 1.05))\n"
        "return tf.where(count > window, adjusted, learning_rate), losses, count",
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([tf.reshape(loss, [1]), losses[:-1]], 0)\n"
        "count = count + 1.0\n"
        "rising = tf.reduce_mean(losses[:window // 2]) > tf.reduce_mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, learning_rate * 0.95, learning_rate * 1.05)\n"
        "return tf.where(count >= window, adjusted, learning_rate), losses, count",
        "import numpy as np\n"
        "history = np.roll(losses.numpy(), 1)\n"
        "return learning_rate, history, count + 1",
        "return learning_rate, losses, count + 1",
        # index 6: NumPy's mean of a symbolic tensor (was reported NOT YET, as if untouched)
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([tf.reshape(loss, [1]), losses[:-1]], 0)\n"
        "count = count + 1.0\n"
        "rising = np.mean(losses[:window // 2]) > np.mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, tf.maximum(0.01, learning_rate * 0.95),\n"
        "                    tf.minimum(1.0, learning_rate * 1.05))\n"
        "return tf.where(count >= window, adjusted, learning_rate), losses, count",
        # index 7: the cap but no floor (was accepted: no sequence reached min_lr)
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([tf.reshape(loss, [1]), losses[:-1]], 0)\n"
        "count = count + 1.0\n"
        "rising = tf.reduce_mean(losses[:window // 2]) > tf.reduce_mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, learning_rate * 0.95, tf.minimum(1.0, learning_rate * 1.05))\n"
        "return tf.where(count >= window, adjusted, learning_rate), losses, count",
        # index 8: the new loss appended at the end (window oldest first)
        "import tensorflow as tf\n"
        "window = losses.shape[0]\n"
        "losses = tf.concat([losses[1:], tf.reshape(loss, [1])], 0)\n"
        "count = count + 1.0\n"
        "rising = tf.reduce_mean(losses[:window // 2]) > tf.reduce_mean(losses[window // 2:])\n"
        "adjusted = tf.where(rising, tf.maximum(0.01, learning_rate * 0.95),\n"
        "                    tf.minimum(1.0, learning_rate * 1.05))\n"
        "return tf.where(count >= window, adjusted, learning_rate), losses, count",
    ],
}
