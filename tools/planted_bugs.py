"""The planted bugs of the mutation suite: realistic bugs a student could write, one per entry.

tests/course/test_mutations.py proves that each bug in MUTANTS (one exercise of solutions/rnnlib) fails
its own exercise's check, and tests/course/test_problem_sets.py the same of each bug in PROBLEM_MUTANTS
(one function of a solved problem set) for its problem. tools/release.py runs the checks on each of them
too, so that the student edition's recorded checks give every one of them the verdict the course gives.
"""

import ast
import json

from rnnlib import PROJECT_ROOT, problem_checks, recorded

# (exercise, module, the reference's text, the bug). The text must occur exactly once in the module.
MUTANTS = {
    # 1.x: text as data
    "sorted characters not sorted": ("1.1", "data.py", "sorted(set(text))", "list(dict.fromkeys(text))"),
    "ids from 1": (
        "1.1",
        "data.py",
        "{c: i for i, c in enumerate(self.chars)}\n        ### END",
        "{c: i + 1 for i, c in enumerate(self.chars)}\n        ### END",
    ),
    "encode as a list": (
        "1.2",
        "data.py",
        "return np.array([self.stoi[c] for c in text], dtype=np.int64)",
        "return [self.stoi[c] for c in text]",
    ),
    "encode int32": (
        "1.2",
        "data.py",
        "[self.stoi[c] for c in text], dtype=np.int64",
        "[self.stoi[c] for c in text], dtype=np.int32",
    ),
    "decode drops the last id": (
        "1.2",
        "data.py",
        'return "".join(self.chars[i] for i in ids)',
        'return "".join(self.chars[i] for i in ids[:-1])',
    ),
    "one_hot ignores dtype": (
        "1.3",
        "data.py",
        "return np.eye(V, dtype=dtype)[ids]",
        "return np.eye(V)[ids]",
    ),
    "one_hot transposed": (
        "1.3",
        "data.py",
        "return np.eye(V, dtype=dtype)[ids]",
        "return np.eye(V, dtype=dtype)[ids].swapaxes(0, -1)",
    ),
    "streams interleaved": (
        "1.4",
        "data.py",
        "return ids[: B * L].reshape(B, L)",
        "return ids[: B * L].reshape(L, B).T",
    ),
    "windows L // T": ("1.4", "data.py", "for s in range(0, L - T, T))", "for s in range(0, L - T + 1, T))"),
    "windows slide by one": ("1.4", "data.py", "for s in range(0, L - T, T))", "for s in range(0, L - T))"),
    "targets not shifted": ("1.4", "data.py", "streams[:, s + 1 : s + T + 1])", "streams[:, s : s + T])"),
    # 2.x: softmax, the loss, gradient checking
    "softmax without the shift": (
        "2.1",
        "losses.py",
        "E = np.exp(Z - Z.max(axis=-1, keepdims=True))",
        "E = np.exp(Z)",
    ),
    "softmax over the wrong axis": (
        "2.1",
        "losses.py",
        "return E / E.sum(axis=-1, keepdims=True)",
        "return E / E.sum(axis=0, keepdims=True)",
    ),
    "softmax shifts Z in place": (
        "2.1",
        "losses.py",
        "E = np.exp(Z - Z.max(axis=-1, keepdims=True))",
        "Z -= Z.max(axis=-1, keepdims=True)\n    E = np.exp(Z)",
    ),
    "cross_entropy sums": (
        "2.2",
        "losses.py",
        "return float(-log_P[np.arange(N), y].mean())",
        "return float(-log_P[np.arange(N), y].sum())",
    ),
    "cross_entropy naive log": (
        "2.2",
        "losses.py",
        "log_P = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
        "log_P = np.log(np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True))",
    ),
    "cross_entropy shifts Z in place": (
        "2.2",
        "losses.py",
        "shifted = Z - Z.max(axis=1, keepdims=True)",
        "Z -= Z.max(axis=1, keepdims=True)\n    shifted = Z",
    ),
    "cross_entropy returns an array": (
        "2.2",
        "losses.py",
        "return float(-log_P[np.arange(N), y].mean())",
        "return -log_P[np.arange(N), y].mean(keepdims=True)",
    ),
    "dZ without 1/N": ("2.3", "losses.py", "return (P - Y) / N", "return P - Y"),
    "dZ sign": ("2.3", "losses.py", "return (P - Y) / N", "return (Y - P) / N"),
    "dZ forgets Y": ("2.3", "losses.py", "Y[np.arange(N), y] = 1.0", "pass"),
    "forward differences": (
        "2.4",
        "gradcheck.py",
        "x[i] = old - h\n        f_minus = f(x)\n        x[i] = old  #",
        "x[i] = old\n        f_minus = f(x)\n        h = h / 2  #",
    ),
    "numerical_gradient ignores h": (
        "2.4",
        "gradcheck.py",
        "    grad = np.zeros_like(x)\n",
        "    grad = np.zeros_like(x)\n    h = 1e-6\n",
    ),
    "numerical_gradient perturbs a copy": (
        "2.4",
        "gradcheck.py",
        "    grad = np.zeros_like(x)\n",
        "    grad = np.zeros_like(x)\n    x = x.copy()\n",
    ),
    "numerical_gradient does not restore x": (
        "2.4",
        "gradcheck.py",
        "x[i] = old  # restore",
        "pass  # restore",
    ),
    # 3.x: the RNN forward pass
    "step without bias": (
        "3.1",
        "rnn.py",
        "h = np.tanh(x @ Wxh + h_prev @ Whh + bh)",
        "h = np.tanh(x @ Wxh + h_prev @ Whh)",
    ),
    "step with Whh transposed": (
        "3.1",
        "rnn.py",
        "h = np.tanh(x @ Wxh + h_prev @ Whh + bh)",
        "h = np.tanh(x @ Wxh + h_prev @ Whh.T + bh)",
    ),
    "step without tanh": (
        "3.1",
        "rnn.py",
        "h = np.tanh(x @ Wxh + h_prev @ Whh + bh)",
        "h = x @ Wxh + h_prev @ Whh + bh",
    ),
    "step float64 leak": (
        "3.1",
        "rnn.py",
        "h = np.tanh(x @ Wxh + h_prev @ Whh + bh)",
        "h = np.tanh(x @ Wxh + h_prev @ Whh + bh.astype(np.float64))",
    ),
    "forward from h0 every step": (
        "3.2",
        "rnn.py",
        "h = np.tanh(A_x[:, t] + h @ Whh)",
        "h = np.tanh(A_x[:, t] + h0 @ Whh)",
    ),
    "forward without bias": (
        "3.2",
        "rnn.py",
        "A_x = (X.reshape(B * T, m) @ Wxh + bh)",
        "A_x = (X.reshape(B * T, m) @ Wxh)",
    ),
    "forward stacks along the batch": (
        "3.2",
        "rnn.py",
        "Hs = np.stack(Hs, axis=1)",
        "Hs = np.stack(Hs, axis=0).reshape(B, T, H)",
    ),
    "forward float64 leak": (
        "3.2",
        "rnn.py",
        "h = np.tanh(A_x[:, t] + h @ Whh)",
        "h = np.tanh(A_x[:, t] + h @ Whh.astype(np.float64))",
    ),
    "output without bias": (
        "3.3",
        "rnn.py",
        "Z = (Hs.reshape(B * T, H) @ Why + by)",
        "Z = (Hs.reshape(B * T, H) @ Why)",
    ),
    "output reshaped time-major": (
        "3.3",
        "rnn.py",
        "Z = (Hs.reshape(B * T, H) @ Why + by).reshape(B, T, V)",
        "Z = (Hs.transpose(1, 0, 2).reshape(B * T, H) @ Why + by).reshape(B, T, V)",
    ),
    # 4.x: backpropagation through time
    "step backward forgets 1 - h^2": ("4.1", "rnn.py", "    delta = dh * (1 - h**2)\n", "    delta = dh\n"),
    "step backward W for W.T": ("4.1", "rnn.py", "dh_prev = delta @ Whh.T", "dh_prev = delta @ Whh"),
    "step backward dWhh from h": ("4.1", "rnn.py", "dWhh = h_prev.T @ delta", "dWhh = h.T @ delta"),
    "step backward bias mean": (
        "4.1",
        "rnn.py",
        "dbh = delta.sum(axis=0)\n    ### END",
        "dbh = delta.mean(axis=0)\n    ### END",
    ),
    "no dh_next accumulation": (
        "4.2",
        "rnn.py",
        "delta_t = (dHs[:, t] + dh_next) * (1 - Hs[:, t] ** 2)",
        "delta_t = dHs[:, t] * (1 - Hs[:, t] ** 2)",
    ),
    "off-by-one Hprev": (
        "4.2",
        "rnn.py",
        "Hprev = np.concatenate([h0[:, None], Hs[:, :-1]], axis=1)",
        "Hprev = Hs",
    ),
    "dh0 dropped": (
        "4.2",
        "rnn.py",
        "    dh0 = dh_next\n    Hprev = np.concatenate([h0[:, None], Hs[:, :-1]]",
        "    dh0 = np.zeros_like(h0)\n    Hprev = np.concatenate([h0[:, None], Hs[:, :-1]]",
    ),
    "BPTT forwards in time": (
        "4.2",
        "rnn.py",
        "for t in reversed(range(T)):\n        delta_t",
        "for t in range(T):\n        delta_t",
    ),
    "dHs accumulated in place": (
        "4.2",
        "rnn.py",
        "delta_t = (dHs[:, t] + dh_next) * (1 - Hs[:, t] ** 2)",
        "dHs[:, t] += dh_next\n        delta_t = dHs[:, t] * (1 - Hs[:, t] ** 2)",
    ),
    "BPTT carries the gradient back through Whh, not its transpose": (
        "4.2",
        "rnn.py",
        "dh_next = delta_t @ Whh_T",
        "dh_next = delta_t @ Whh",
    ),
    "BPTT float64 leak": ("4.2", "rnn.py", "Delta = np.empty_like(Hs)", "Delta = np.empty(Hs.shape)"),
    "dWhh accumulated in float64": (
        "4.2",
        "rnn.py",
        "dWhh = Hprev2d.T @ Delta2d",
        "dWhh = np.zeros((H, H)) + Hprev2d.T @ Delta2d",
    ),
    "output backward divides by N again": (
        "4.3",
        "rnn.py",
        "dHs = (dZ2d @ Why.T).reshape(B, T, H)",
        "dHs = (dZ2d @ Why.T).reshape(B, T, H) / (B * T)",
    ),
    "output backward dby mean": ("4.3", "rnn.py", "dby = dZ2d.sum(axis=0)", "dby = dZ2d.mean(axis=0)"),
    # 5.x: training
    "sgd ascends": ("5.1", "optim.py", "P -= lr * grads[name]", "P += lr * grads[name]"),
    "sgd makes new arrays": (
        "5.1",
        "optim.py",
        "    for name, P in params.items():\n        P -= lr * grads[name]",
        "    for name, P in list(params.items()):\n        params[name] = P - lr * grads[name]",
    ),
    "clip per array": (
        "5.2",
        "optim.py",
        "np.sqrt(sum(np.sum(np.square(dP, dtype=np.float64)) for dP in grads.values()))",
        "max(np.sqrt(np.sum(np.square(dP, dtype=np.float64))) for dP in grads.values())",
    ),
    "clip returns the clipped norm": (
        "5.2",
        "optim.py",
        "            dP *= scale\n    return total_norm",
        "            dP *= scale\n        return max_norm\n    return total_norm",
    ),
    "train_step without clipping": (
        "5.3",
        "train.py",
        "grad_norm = clip_grad_norm(grads, clip)\n    update(",
        'grad_norm = clip_grad_norm(grads, float("inf"))\n    update(',
    ),
    "train_step returns the old state": (
        "5.3",
        "train.py",
        "update(params, grads, lr)\n    return loss, h_last, grad_norm",
        "update(params, grads, lr)\n    return loss, h, grad_norm",
    ),
    "calls sgd_step instead of update": (
        "5.3",
        "train.py",
        "    update(params, grads, lr)",
        "    sgd_step(params, grads, lr)",
    ),
    "update before clip": (
        "5.3",
        "train.py",
        "    grad_norm = clip_grad_norm(grads, clip)\n    update(params, grads, lr)",
        "    update(params, grads, lr)\n    grad_norm = clip_grad_norm(grads, clip)",
    ),
    "update and sgd_step both": (
        "5.3",
        "train.py",
        "    update(params, grads, lr)",
        "    update(params, grads, lr)\n    sgd_step(params, grads, lr)",
    ),
    "update given clip for lr": (
        "5.3",
        "train.py",
        "    update(params, grads, lr)",
        "    update(params, grads, clip)",
    ),
    "clipping by scaling lr": (  # the same step for SGD, not for Adam
        "5.3",
        "train.py",
        "grad_norm = clip_grad_norm(grads, clip)\n    update(params, grads, lr)",
        'grad_norm = clip_grad_norm(grads, float("inf"))\n'
        "    update(params, grads, lr * min(1, clip / grad_norm))",
    ),
    # 7.x: the GRU forward pass
    "gate order z r n": (
        "7.1",
        "gru.py",
        "    r = sigmoid(a_xr + a_hr)\n    z = sigmoid(a_xz + a_hz)\n",
        "    z = sigmoid(a_xr + a_hr)\n    r = sigmoid(a_xz + a_hz)\n",
    ),
    "z and 1 - z swapped": (
        "7.1",
        "gru.py",
        "    h = (1 - z) * n + z * h_prev\n",
        "    h = z * n + (1 - z) * h_prev\n",
    ),
    "Cho's reset": (
        "7.1",
        "gru.py",
        "    n = np.tanh(a_xn + r * a_hn)\n    h = (1 - z) * n + z * h_prev\n",
        "    n = np.tanh(a_xn + (r * h_prev) @ Wh[:, 2 * H :] + bh[2 * H :])\n"
        "    h = (1 - z) * n + z * h_prev\n",
    ),
    "reset gate forgotten": (
        "7.1",
        "gru.py",
        "    n = np.tanh(a_xn + r * a_hn)\n    h = (1 - z) * n + z * h_prev\n",
        "    n = np.tanh(a_xn + a_hn)\n    h = (1 - z) * n + z * h_prev\n",
    ),
    "forward r cached as z": (
        "7.2",
        "gru.py",
        "Hs[:, t], Rs[:, t], Zs[:, t], Ns[:, t], A_hn[:, t] = h, r, z, n, a_hn",
        "Hs[:, t], Rs[:, t], Zs[:, t], Ns[:, t], A_hn[:, t] = h, r, r, n, a_hn",
    ),
    "GRU forward from h0 every step": (
        "7.2",
        "gru.py",
        "a_hr, a_hz, a_hn = np.split(h @ Wh + bh, 3, axis=1)",
        "a_hr, a_hz, a_hn = np.split(h0 @ Wh + bh, 3, axis=1)",
    ),
    "GRU forward float64 leak": (
        "7.2",
        "gru.py",
        "Hs = np.empty((B, T, H), dtype=np.result_type(A_x, h0, Wh))",
        "Hs = np.empty((B, T, H))",
    ),
    "GRU forward without bh": (
        "7.2",
        "gru.py",
        "a_hr, a_hz, a_hn = np.split(h @ Wh + bh, 3, axis=1)",
        "a_hr, a_hz, a_hn = np.split(h @ Wh, 3, axis=1)",
    ),
    # 8.x: the GRU backward pass
    "dg_n forgets 1 - z": (
        "8.1",
        "gru.py",
        "    dg_n = dh * (1 - z) * (1 - n**2)\n    dg_z = dh * (h_prev - n)",
        "    dg_n = dh * (1 - n**2)\n    dg_z = dh * (h_prev - n)",
    ),
    "dg_z sign": (
        "8.1",
        "gru.py",
        "    dg_z = dh * (h_prev - n) * z * (1 - z)\n",
        "    dg_z = dh * (n - h_prev) * z * (1 - z)\n",
    ),
    "da_h without r": (
        "8.1",
        "gru.py",
        "    da_h = np.concatenate([dg_r, dg_z, r * dg_n], axis=1)\n    dx",
        "    da_h = np.concatenate([dg_r, dg_z, dg_n], axis=1)\n    dx",
    ),
    "dh_prev without the direct path": (
        "8.1",
        "gru.py",
        "dh_prev = da_h @ Wh.T + dh * z",
        "dh_prev = da_h @ Wh.T",
    ),
    "dg_r forgets a_hn": (
        "8.1",
        "gru.py",
        "    dg_r = dg_n * a_hn * r * (1 - r)\n    da_x",
        "    dg_r = dg_n * r * (1 - r)\n    da_x",
    ),
    "GRU BPTT without dh_next": ("8.2", "gru.py", "dh = dHs[:, t] + dh_next", "dh = dHs[:, t]"),
    "GRU off-by-one Hprev": (
        "8.2",
        "gru.py",
        "Hprev = np.concatenate([h0[:, None], Hs[:, :-1]], axis=1)\n    dA_x",
        "Hprev = Hs\n    dA_x",
    ),
    "GRU dh0 dropped": (
        "8.2",
        "gru.py",
        "    dh0 = dh_next\n    X2d, Hprev2d",
        "    dh0 = 0 * dh_next\n    X2d, Hprev2d",
    ),
    "GRU BPTT dWh from da_x": ("8.2", "gru.py", "dWh = Hprev2d.T @ dA_h2d", "dWh = Hprev2d.T @ dA_x2d"),
    "GRU BPTT direct path forgotten": (
        "8.2",
        "gru.py",
        "dh_next = da_h @ Wh_T + dh * z",
        "dh_next = da_h @ Wh_T",
    ),
    "GRU BPTT dbh accumulated in float64": (
        "8.2",
        "gru.py",
        "dbh = dA_h2d.sum(axis=0)",
        "dbh = np.zeros(3 * H) + dA_h2d.sum(axis=0)",
    ),
    "GRU step backward dbx accumulated in float64": (
        "8.1",
        "gru.py",
        "dbx = da_x.sum(axis=0)",
        "dbx = np.zeros(da_x.shape[1]) + da_x.sum(axis=0)",
    ),
    # 9.x: optimizers
    "momentum velocity not stored": (
        "9.1",
        "optim.py",
        "v[...] = beta * v + grads[name]",
        "v = beta * v + grads[name]",
    ),
    "momentum steps along the gradient": ("9.1", "optim.py", "P -= lr * v", "P -= lr * grads[name]"),
    "momentum with dampening": (
        "9.1",
        "optim.py",
        "v[...] = beta * v + grads[name]",
        "v[...] = beta * v + (1 - beta) * grads[name]",
    ),
    "momentum makes new arrays": (
        "9.1",
        "optim.py",
        "        P -= lr * v\n",
        "        params[name] = P - lr * v\n",
    ),
    "momentum writes the step into grads": (
        "9.1",
        "optim.py",
        'for name, P in params.items():\n        v = state["velocity"][name]',
        'for name, P in grads.items():\n        v = state["velocity"][name]',
    ),
    "momentum beta on the gradient": (
        "9.1",
        "optim.py",
        "v[...] = beta * v + grads[name]",
        "v[...] = v + beta * grads[name]",
    ),
    "adam without bias correction": (
        "9.2",
        "optim.py",
        "P -= lr * m_hat / (np.sqrt(v_hat) + eps)",
        "P -= lr * m / (np.sqrt(v) + eps)",
    ),
    "adam counts the step after the update": (
        "9.2",
        "optim.py",
        '    state["step"] += 1\n    s = state["step"]\n',
        '    s = state["step"]\n    state["step"] = s + 1\n',
    ),
    "adam eps inside the square root": (
        "9.2",
        "optim.py",
        "P -= lr * m_hat / (np.sqrt(v_hat) + eps)",
        "P -= lr * m_hat / np.sqrt(v_hat + eps)",
    ),
    "adam beta1 and 1 - beta1 swapped": (
        "9.2",
        "optim.py",
        "m[...] = beta1 * m + (1 - beta1) * g",
        "m[...] = (1 - beta1) * m + beta1 * g",
    ),
    "adam moments not stored": (
        "9.2",
        "optim.py",
        "m[...] = beta1 * m + (1 - beta1) * g\n        v[...] = beta2 * v + (1 - beta2) * g * g",
        "m = beta1 * m + (1 - beta1) * g\n        v = beta2 * v + (1 - beta2) * g * g",
    ),
    "adam makes new arrays": (
        "9.2",
        "optim.py",
        "        P -= lr * m_hat / (np.sqrt(v_hat) + eps)",
        "        params[name] = P - lr * m_hat / (np.sqrt(v_hat) + eps)",
    ),
    "adam second moment of g, not g squared": (
        "9.2",
        "optim.py",
        "v[...] = beta2 * v + (1 - beta2) * g * g",
        "v[...] = beta2 * v + (1 - beta2) * np.abs(g)",
    ),
    "adam counts steps from 0 in Kingma's step size": (  # Python floats: a ZeroDivisionError at t = 0
        "9.2",
        "optim.py",
        '    state["step"] += 1\n    s = state["step"]\n'
        "    for name, P in params.items():\n"
        '        g, m, v = grads[name], state["m"][name], state["v"][name]\n'
        "        m[...] = beta1 * m + (1 - beta1) * g\n"
        "        v[...] = beta2 * v + (1 - beta2) * g * g\n"
        "        m_hat = m / (1 - beta1**s)\n"
        "        v_hat = v / (1 - beta2**s)\n"
        "        P -= lr * m_hat / (np.sqrt(v_hat) + eps)\n",
        '    s = state["step"]\n    state["step"] += 1\n'
        "    step_size = lr * (1 - beta2**s) ** 0.5 / (1 - beta1**s)\n"
        "    for name, P in params.items():\n"
        '        g, m, v = grads[name], state["m"][name], state["v"][name]\n'
        "        m[...] = beta1 * m + (1 - beta1) * g\n"
        "        v[...] = beta2 * v + (1 - beta2) * g * g\n"
        "        P -= step_size * m / (np.sqrt(v) + eps)\n",
    ),
    "adam writes the step into grads": (
        "9.2",
        "optim.py",
        "for name, P in params.items():\n        g, m, v",
        "for name, P in grads.items():\n        g, m, v",
    ),
    "adam bias correction of m only": (
        "9.2",
        "optim.py",
        "        v_hat = v / (1 - beta2**s)\n",
        "        v_hat = v\n",
    ),
    # 12.x: automatic differentiation
    "matmul dA = dC B, the transpose missing": ("12.1", "autodiff.py", "dC @ B.T, A.T", "dC @ B, A.T"),
    "matmul dB = A dC, the transpose missing": ("12.1", "autodiff.py", "A.T @ dC", "A @ dC"),
    "matmul gradients in the wrong order": (
        "12.1",
        "autodiff.py",
        "return dC @ B.T, A.T @ dC",
        "return A.T @ dC, dC @ B.T",
    ),
    "matmul dB transposed, dC^T A": ("12.1", "autodiff.py", "A.T @ dC", "dC.T @ A"),
    "matmul dA in column-vector form, B dC^T": ("12.1", "autodiff.py", "dC @ B.T, A.T", "B @ dC.T, A.T"),
    "unbroadcast without keepdims": (
        "12.2",
        "autodiff.py",
        "return grad.sum(axis=stretched, keepdims=True)",
        "return grad.sum(axis=stretched)",
    ),
    "unbroadcast sums only the missing axes": (
        "12.2",
        "autodiff.py",
        "return grad.sum(axis=stretched, keepdims=True)",
        "return grad",
    ),
    "unbroadcast sums the trailing axes": (
        "12.2",
        "autodiff.py",
        "grad.sum(axis=tuple(range(leading)))",
        "grad.sum(axis=tuple(range(grad.ndim - leading, grad.ndim)))",
    ),
    "unbroadcast averages": (
        "12.2",
        "autodiff.py",
        "grad = grad.sum(axis=tuple(range(leading)))",
        "grad = grad.mean(axis=tuple(range(leading)))",
    ),
    "unbroadcast counts the missing axes backwards": (
        "12.2",
        "autodiff.py",
        "leading = grad.ndim - len(shape)",
        "leading = len(shape) - grad.ndim",
    ),
    "tanh slope from the input": ("12.3", "autodiff.py", "(dy * (1 - y**2),)", "(dy * (1 - x**2),)"),
    "tanh slope without the square": ("12.3", "autodiff.py", "(dy * (1 - y**2),)", "(dy * (1 - y),)"),
    "tanh rule forgets dy": ("12.3", "autodiff.py", "(dy * (1 - y**2),)", "((1 - y**2),)"),
    "tanh with the sigmoid's slope": ("12.3", "autodiff.py", "(dy * (1 - y**2),)", "(dy * y * (1 - y),)"),
    "tanh rule returns an array, not a tuple": (
        "12.3",
        "autodiff.py",
        "return (dy * (1 - y**2),)",
        "return dy * (1 - y**2)",
    ),
    "sigmoid slope from the input": ("12.4", "autodiff.py", "(ds * s * (1 - s),)", "(ds * x * (1 - x),)"),
    "sigmoid with the tanh's slope": ("12.4", "autodiff.py", "(ds * s * (1 - s),)", "(ds * (1 - s**2),)"),
    "sigmoid applied again to its output": (
        "12.4",
        "autodiff.py",
        "(ds * s * (1 - s),)",
        "(ds * sigmoid(s) * (1 - sigmoid(s)),)",
    ),
    "sigmoid slope from exp(-x)": (
        "12.4",
        "autodiff.py",
        "(ds * s * (1 - s),)",
        "(ds * np.exp(-x) / (1 + np.exp(-x)) ** 2,)",
    ),
    "sigmoid slope from a sigmoid of x computed again": (
        "12.4",
        "autodiff.py",
        "(ds * s * (1 - s),)",
        "(ds / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x))),)",
    ),
    "sigmoid rule forgets ds": ("12.4", "autodiff.py", "(ds * s * (1 - s),)", "(s * (1 - s),)"),
    "rows adds a repeated id's rows once (fancy-index +=)": (
        "12.6",
        "autodiff.py",
        "np.add.at(dW, ids, d)",
        "dW[ids] += d",
    ),
    "rows assigns instead of adding": ("12.6", "autodiff.py", "np.add.at(dW, ids, d)", "dW[ids] = d"),
    "rows rule returns an array, not a tuple": ("12.6", "autodiff.py", "return (dW,)", "return dW"),
    "rows gradient in float64": (
        "12.6",
        "autodiff.py",
        "dW = np.zeros(shape, dtype=d.dtype)",
        "dW = np.zeros(shape)",
    ),
    "topological order reversed": (
        "12.5",
        "autodiff.py",
        "    return order\n    ### END SOLUTION",
        "    return order[::-1]\n    ### END SOLUTION",
    ),
    "topological order visits a Tensor twice": (
        "12.5",
        "autodiff.py",
        "elif id(node) not in seen:",
        "else:",
    ),
    "topological order puts a Tensor before its parents": (
        "12.5",
        "autodiff.py",
        "stack.append((node, True))",
        "order.append(node)",
    ),
    "topological order leaves the root out": (
        "12.5",
        "autodiff.py",
        "stack = [(root, False)]",
        "stack = [(parent, False) for parent in root.parents]",
    ),
    "topological order by recursion": (
        "12.5",
        "autodiff.py",
        "    order, seen = [], set()\n    stack = [(root, False)]\n",
        "    order, seen = [], set()\n\n"
        "    def visit(node):\n"
        "        if id(node) not in seen:\n"
        "            seen.add(id(node))\n"
        "            for parent in node.parents:\n"
        "                visit(parent)\n"
        "            order.append(node)\n\n"
        "    visit(root)\n"
        "    stack = []\n",
    ),
    "lstm gates in the order i, f, o, g": (
        "12.7",
        "autodiff.py",
        "a_i, a_f, a_g, a_o = split(",
        "a_i, a_f, a_o, a_g = split(",
    ),
    "lstm candidate through a sigmoid": (
        "12.7",
        "autodiff.py",
        "a_i.sigmoid() * a_g.tanh()",
        "a_i.sigmoid() * a_g.sigmoid()",
    ),
    "lstm h without the tanh of c": (
        "12.7",
        "autodiff.py",
        "return a_o.sigmoid() * c.tanh(), c",
        "return a_o.sigmoid() * c, c",
    ),
    "lstm input and forget gates swapped": (
        "12.7",
        "autodiff.py",
        "c = a_f.sigmoid() * c_prev + a_i.sigmoid() * a_g.tanh()",
        "c = a_i.sigmoid() * c_prev + a_f.sigmoid() * a_g.tanh()",
    ),
    "lstm c_prev cut from the tape": (
        "12.7",
        "autodiff.py",
        "c = a_f.sigmoid() * c_prev +",
        "c = a_f.sigmoid() * Tensor(c_prev.data) +",
    ),
    # 10.1: the warm-up and cosine schedule
    "warm-up starts at 0": (
        "10.1",
        "schedule.py",
        "return lr * step / warmup",
        "return lr * (step - 1) / warmup",
    ),
    "cosine counts from step 0, not from the warm-up's end": (
        "10.1",
        "schedule.py",
        "progress = (step - warmup) / (steps - warmup)",
        "progress = step / steps",
    ),
    "cosine one step late: never reaches final_lr": (
        "10.1",
        "schedule.py",
        "progress = (step - warmup) / (steps - warmup)",
        "progress = (step - warmup - 1) / (steps - warmup)",
    ),
    "cosine decays to 0, not to final_lr": (
        "10.1",
        "schedule.py",
        "return final_lr + (lr - final_lr) * 0.5 * (1 + math.cos(math.pi * progress))",
        "return lr * 0.5 * (1 + math.cos(math.pi * progress))",
    ),
    "a quarter cosine": (
        "10.1",
        "schedule.py",
        "0.5 * (1 + math.cos(math.pi * progress))",
        "math.cos(0.5 * math.pi * progress)",
    ),
    "linear decay instead of the cosine": (
        "10.1",
        "schedule.py",
        "0.5 * (1 + math.cos(math.pi * progress))",
        "(1 - progress)",
    ),
    # 11.x: sampling
    "softmax at a temperature without the max": (
        "11.1",
        "sample.py",
        "E = np.exp((Z - Z.max(axis=1, keepdims=True)) / temperature)",
        "E = np.exp(Z / temperature)",
    ),
    "the max of the whole batch subtracted": (
        "11.1",
        "sample.py",
        "E = np.exp((Z - Z.max(axis=1, keepdims=True)) / temperature)",
        "E = np.exp((Z - Z.max()) / temperature)",
    ),
    "temperature multiplies the logits": (
        "11.1",
        "sample.py",
        "E = np.exp((Z - Z.max(axis=1, keepdims=True)) / temperature)",
        "E = np.exp((Z - Z.max(axis=1, keepdims=True)) * temperature)",
    ),
    "temperature softmax in float32": (
        "11.1",
        "sample.py",
        "Z = logits.astype(np.float64)\n",
        "Z = logits\n",
    ),
    "temperature divides the float32 logits before the cast": (
        "11.1",
        "sample.py",
        "Z = logits.astype(np.float64)\n"
        '    with np.errstate(over="ignore"):  # a tiny T sends (Z - max) / T to -inf: probability 0, '
        "rightly\n"
        "        E = np.exp((Z - Z.max(axis=1, keepdims=True)) / temperature)",
        "Z = (logits / temperature).astype(np.float64)\n    E = np.exp(Z - Z.max(axis=1, keepdims=True))",
    ),
    "temperature 0 divides by zero": (
        "11.1",
        "sample.py",
        "    if temperature == 0:\n        P",
        "    if False:\n        P",
    ),
    "temperature 0 puts the mass on the last equal logit": (
        "11.1",
        "sample.py",
        "P[np.arange(len(logits)), logits.argmax(axis=1)] = 1.0",
        "P[np.arange(len(logits)), logits.shape[1] - 1 - logits[:, ::-1].argmax(axis=1)] = 1.0",
    ),
    "top-k keeps one too many": (
        "11.2",
        "sample.py",
        'np.argsort(-logits, axis=1, kind="stable")[:, :k]',
        'np.argsort(-logits, axis=1, kind="stable")[:, : k + 1]',
    ),
    "top-k keeps the smallest": (
        "11.2",
        "sample.py",
        'np.argsort(-logits, axis=1, kind="stable")[:, :k]',
        'np.argsort(logits, axis=1, kind="stable")[:, :k]',
    ),
    "top-k with NumPy's default (unstable) sort": (
        "11.2",
        "sample.py",
        'np.argsort(-logits, axis=1, kind="stable")[:, :k]',
        "np.argsort(-logits, axis=1)[:, :k]",
    ),
    "top-k by argpartition, ties in any order": (
        "11.2",
        "sample.py",
        'np.argsort(-logits, axis=1, kind="stable")[:, :k]',
        "np.argpartition(-logits, k - 1, axis=1)[:, :k]",
    ),
    "top-k zeroes the others instead of -inf": (
        "11.2",
        "sample.py",
        "filtered = np.full_like(logits, -np.inf)",
        "filtered = np.zeros_like(logits)",
    ),
    "top-k keeps every tie at the threshold": (
        "11.2",
        "sample.py",
        'keep = np.argsort(-logits, axis=1, kind="stable")[:, :k]\n'
        "    filtered = np.full_like(logits, -np.inf)\n"
        "    np.put_along_axis(filtered, keep, np.take_along_axis(logits, keep, axis=1), axis=1)\n"
        "    return filtered",
        "threshold = np.sort(logits, axis=1)[:, -k][:, None]\n"
        "    return np.where(logits >= threshold, logits, -np.inf)",
    ),
    "top-k writes -inf into the logits": (
        "11.2",
        "sample.py",
        "    filtered = np.full_like(logits, -np.inf)\n"
        "    np.put_along_axis(filtered, keep, np.take_along_axis(logits, keep, axis=1), axis=1)\n",
        "    filtered = logits\n"
        "    dropped = np.ones(logits.shape, dtype=bool)\n"
        "    np.put_along_axis(dropped, keep, False, axis=1)\n"
        "    filtered[dropped] = -np.inf\n",
    ),
    "top-k returns the logits themselves when nothing is filtered": (
        "11.2",
        "sample.py",
        "return logits.copy()",
        "return logits",
    ),
    "prime reads only the last character": (
        "11.3",
        "sample.py",
        "for t in range(ids.shape[1]):",
        "for t in range(ids.shape[1] - 1, ids.shape[1]):",
    ),
    "prime skips the first character": (
        "11.3",
        "sample.py",
        "for t in range(ids.shape[1]):",
        "for t in range(1, ids.shape[1]):",
    ),
    "prime does not carry the state": (
        "11.3",
        "sample.py",
        "    for t in range(ids.shape[1]):\n        logits, h = model.lm_step(params, ids[:, t], h)",
        "    for t in range(ids.shape[1]):\n        logits, _ = model.lm_step(params, ids[:, t], h)",
    ),
    "prime ignores the given state": (
        "11.3",
        "sample.py",
        "    for t in range(ids.shape[1]):\n        logits, h = model.lm_step(params, ids[:, t], h)",
        "    for t in range(ids.shape[1]):\n"
        "        logits, h = model.lm_step(params, ids[:, t], h if t else None)",
    ),
    "prime reads the prompt backwards": (
        "11.3",
        "sample.py",
        "for t in range(ids.shape[1]):",
        "for t in reversed(range(ids.shape[1])):",
    ),
    "prime one row at a time": (
        "11.3",
        "sample.py",
        "    for t in range(ids.shape[1]):\n        logits, h = model.lm_step(params, ids[:, t], h)",
        "    rows = [None] * len(ids) if h is None else list(h[:, None])\n"
        "    outs = []\n"
        "    for b in range(len(ids)):\n"
        "        for t in range(ids.shape[1]):\n"
        "            out, rows[b] = model.lm_step(params, ids[b, t : t + 1], rows[b])\n"
        "        outs.append(out)\n"
        "    logits, h = np.concatenate(outs), np.concatenate(rows)",
    ),
    "all rows share one draw": (
        "11.4",
        "sample.py",
        "ids[:, t] = [rng.choice(V, p=p) for p in P]",
        "ids[:, t] = rng.choice(V, p=P[0])",
    ),
    "the drawn character is not fed back": (
        "11.4",
        "sample.py",
        "if t < length - 1:\n            logits, h = model.lm_step(params, ids[:, t], h)",
        "if t < length - 1:\n            _, h = model.lm_step(params, ids[:, t], h)",
    ),
    "generate forgets the state": (
        "11.4",
        "sample.py",
        "if t < length - 1:\n            logits, h = model.lm_step(params, ids[:, t], h)",
        "if t < length - 1:\n            logits, h = model.lm_step(params, ids[:, t], None)",
    ),
    "generate ignores the temperature": (
        "11.4",
        "sample.py",
        "P = probabilities(top_k_logits(logits, top_k), temperature)",
        "P = probabilities(top_k_logits(logits, top_k))",
    ),
    "generate ignores top-k": (
        "11.4",
        "sample.py",
        "P = probabilities(top_k_logits(logits, top_k), temperature)",
        "P = probabilities(logits, temperature)",
    ),
    "generate draws at temperature 0": (
        "11.4",
        "sample.py",
        "        if temperature == 0:\n            ids[:, t]",
        "        if False:\n            ids[:, t]",
    ),
}


# Realistic bugs, each planted in one function of a solved set: (set, problem, function, its text, the
# bug). The text must occur exactly once in the function.
PROBLEM_MUTANTS = {
    "one_hot float32": (
        "01_text_and_loss_problems",
        1,
        "one_hot",
        "np.eye(V)[ids]",
        "np.eye(V, dtype=np.float32)[ids]",
    ),
    "dWhy transposed": ("01_text_and_loss_problems", 2, "shapes", '"dWhy": (H, V)', '"dWhy": (V, H)'),
    "softmax without the shift": (
        "01_text_and_loss_problems",
        3,
        "softmax",
        "np.exp(Z - Z.max(axis=-1, keepdims=True))",
        "np.exp(Z)",
    ),
    "dZ without 1/B": (
        "01_text_and_loss_problems",
        4,
        "cross_entropy_backward",
        "(softmax(Z) - Y) / B",
        "softmax(Z) - Y",
    ),
    "uniform loss in bits": ("01_text_and_loss_problems", 5, "uniform_loss", "np.log(V)", "np.log2(V)"),
    "bits times ln 2": (
        "01_text_and_loss_problems",
        6,
        "bits_per_char",
        "mean_nll / np.log(2)",
        "mean_nll * np.log(2)",
    ),
    "n_params without biases": (
        "03_rnn_bptt_problems",
        1,
        "n_params",
        "V * H + H * H + H + H * V + V",
        "V * H + H * H + H * V",
    ),
    "dh0 without its batch": ("03_rnn_bptt_problems", 2, "shapes", '"dh0": (B, H)', '"dh0": (H,)'),
    "delta_1 without tanh'": (
        "03_rnn_bptt_problems",
        3,
        "grad_terms",
        "delta2 * w * (1 - h1**2)",
        "delta2 * w",
    ),
    "X reshaped across the batch": (
        "03_rnn_bptt_problems",
        4,
        "dW_one_product",
        "X.reshape(B * T, m).T",
        "X.reshape(m, B * T)",
    ),
    "no dh_next in Delta": (
        "03_rnn_bptt_problems",
        5,
        "bptt_deltas",
        "(dHs[:, t] + dh_next) * tanh_prime",
        "dHs[:, t] * tanh_prime",
    ),
    "Jacobians multiplied in the wrong order": (
        "03_rnn_bptt_problems",
        7,
        "jacobian_product",
        "P = ((1 - h**2)[:, None] * Whh.T) @ P",
        "P = P @ ((1 - h**2)[:, None] * Whh.T)",
    ),
    "gradient_errors nudges a copy": (
        "04_find_the_bug_problems",
        1,
        "gradient_errors",
        "numerical_gradient(lambda _: loss(), x)",
        "numerical_gradient(lambda _: loss(), x.copy())",
    ),
    "one name too many": (
        "04_find_the_bug_problems",
        2,
        "wrong_in_step_backward",
        '{"Whh"}',
        '{"Whh", "h_prev"}',
    ),
    "dWhh from h, as the bug": (
        "04_find_the_bug_problems",
        2,
        "fixed_step_backward",
        "h_prev.T @ delta",
        "h.T @ delta",
    ),
    "fixed without dh_next": (
        "04_find_the_bug_problems",
        3,
        "fixed_rnn_backward",
        "(dHs[:, t] + dh_next) * (1",
        "dHs[:, t] * (1",
    ),
    "Hprev shifted the wrong way": (
        "04_find_the_bug_problems",
        4,
        "fixed_rnn_backward_2",
        "[h0[:, None], Hs[:, :-1]]",
        "[Hs[:, 1:], h0[:, None]]",
    ),
    "dh0 also blamed on Whh": (
        "04_find_the_bug_problems",
        5,
        "wrong_in_rnn_backward_3",
        '{"h0"}',
        '{"h0", "Whh"}',
    ),
    "dHs divided again": (
        "04_find_the_bug_problems",
        6,
        "fixed_output_backward",
        "(dZ2d @ Why.T).reshape(B, T, H)",
        "(dZ2d @ Why.T).reshape(B, T, H) / (B * T)",
    ),
    "GRU with one bias": ("07_gru_problems", 1, "gru_layer_params", "2 * H)", "H)"),
    "budget not reached": (
        "07_gru_problems",
        1,
        "gru_units_for_budget",
        "gru_layer_params(m, H + 1) <= budget",
        "gru_layer_params(m, H + 1) < budget",
    ),
    "z and 1 - z swapped": (
        "07_gru_problems",
        2,
        "gru_step",
        "(1 - z) * n + z * h_prev",
        "z * n + (1 - z) * h_prev",
    ),
    "reset before the product": (
        "07_gru_problems",
        2,
        "gru_step",
        "n = np.tanh(a_xn + r * a_hn)",
        "n = np.tanh(a_xn + (r * h_prev) @ Wh[:, 2 * h_prev.shape[1] :] + bh[2 * h_prev.shape[1] :])",
    ),
    "copy bias in the r block": (
        "07_gru_problems",
        3,
        "switch_biases",
        "[np.zeros(H), np.full(H, 30.0), np.zeros(H)]",
        "[np.full(H, 30.0), np.zeros(H), np.zeros(H)]",
    ),
    "sigmoid applied twice": (
        "07_gru_problems",
        4,
        "sigmoid_prime",
        "s * (1 - s)",
        "sigmoid(s) * (1 - sigmoid(s))",
    ),
    "dz with the sign flipped": (
        "07_gru_problems",
        5,
        "update_gate_backward",
        "(h_prev - n)",
        "(n - h_prev)",
    ),
    "Cho's GRU resetting after the product": (
        "07_gru_problems",
        6,
        "gru_step_cho",
        "(r * h_prev) @ Wh[:, 2 * H :] + bh[2 * H :]",
        "r * (h_prev @ Wh[:, 2 * H :] + bh[2 * H :])",
    ),
    "bh not named": (
        "08_find_the_bug_problems",
        1,
        "wrong_in_1",
        '{"h_prev", "Wh", "bh"}',
        '{"h_prev", "Wh"}',
    ),
    "the n block of da_h without r": (
        "08_find_the_bug_problems",
        1,
        "fixed_step_backward_1",
        "[dg_r, dg_z, r * dg_n]",
        "[dg_r, dg_z, dg_n]",
    ),
    "dg_r without a_hn": (
        "08_find_the_bug_problems",
        2,
        "fixed_step_backward_2",
        "dg_n * a_hn * r",
        "dg_n * r",
    ),
    "the direct path with 1 - z": (
        "08_find_the_bug_problems",
        3,
        "fixed_step_backward_3",
        "+ dh * z",
        "+ dh * (1 - z)",
    ),
    "h without the tanh": ("08_lstm_and_cho_problems", 1, "lstm_step", "h = o * np.tanh(c)", "h = o * c"),
    "LSTM gates [i | f | o | g]": (
        "08_lstm_and_cho_problems",
        1,
        "lstm_step",
        "a_i, a_f, a_g, a_o",
        "a_i, a_f, a_o, a_g",
    ),
    "dc without the path through h": (
        "08_lstm_and_cho_problems",
        2,
        "lstm_step_backward",
        "dc_all = dc + dh * o * (1 - tanh_c**2)",
        "dc_all = dc",
    ),
    "cho_step resetting after the product": (
        "08_lstm_and_cho_problems",
        3,
        "cho_step",
        "(r * h_prev) @ Wh[:, 2 * H :] + bh[2 * H :]",
        "r * (h_prev @ Wh[:, 2 * H :] + bh[2 * H :])",
    ),
    "dg_r without h_prev": ("08_lstm_and_cho_problems", 4, "cho_step_backward", "ds * h_prev * r", "ds * r"),
    "m_hat not corrected": (
        "09_optimizer_problems",
        1,
        "adam_by_hand",
        '"m_hat": [2.0, 0.4211, 0.4502]',
        '"m_hat": [0.2, 0.08, 0.122]',
    ),
    "AdaGrad's sum not kept": ("09_optimizer_problems", 2, "adagrad_step", "s += g * g", "s = s + g * g"),
    "AdaGrad without the square root": (
        "09_optimizer_problems",
        2,
        "adagrad_step",
        "(np.sqrt(s) + eps)",
        "(s + eps)",
    ),
    "Nadam as Adam": (
        "09_optimizer_problems",
        3,
        "nadam_step",
        "beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1**t)",
        "m / (1 - beta1**t)",
    ),
    "the state always carried": (
        "10_experiments_problems",
        1,
        "evaluate_windows",
        "targets, h if carry else zeros)",
        "targets, h)",
    ),
    "clip ignored": (
        "10_experiments_problems",
        2,
        "train_windows",
        "clip_grad_norm(grads, clip)",
        "clip_grad_norm(grads, 1.0)",
    ),
    "the largest r, not the largest |r|": (
        "10_experiments_problems",
        3,
        "best_unit",
        "np.argmax(np.abs(r))",
        "np.argmax(r)",
    ),
}


def planted(problem_set, function, old, new):
    """The names of the solved set ``problem_set`` with its ``function`` replaced by one whose source has
    ``old`` replaced by ``new``, defined beside the solved set's other functions (which it may call)."""
    path = PROJECT_ROOT / "solutions" / "exercises" / f"{problem_set}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = [
        ast.get_source_segment(source, node)
        for source in ("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == function
    ]
    assert len(sources) == 1, f"{problem_set} defines {function} {len(sources)} times"
    assert sources[0].count(old) == 1, f"the text occurs {sources[0].count(old)} times in {function}: {old!r}"
    solved = recorded.real(problem_checks._solved(problem_set))
    names = dict(getattr(solved, function).__globals__)
    exec(sources[0].replace(old, new), names)
    return names


def answers(problem_set, number):
    """The solved set's functions that the check cell of Problem ``number`` hands its check."""
    from tools.grading.judge import check_cell

    cells = json.loads((PROJECT_ROOT / "exercises" / f"{problem_set}.ipynb").read_text(encoding="utf-8"))[
        "cells"
    ]
    for cell in cells:
        _, call = check_cell("".join(cell["source"]), "#NBVAL_CHECK_OUTPUT")
        if call and call[:2] == [problem_set, number]:
            solved = recorded.real(problem_checks._solved(problem_set))
            return [getattr(solved, name) for name in call[2:]]
    raise KeyError(f"{problem_set} has no check cell of Problem {number}")
