"""Backprop as the chain rule on the computation graph J = 3(a + bc), at a = 5, b = 3, c = 2.

Look at: the forward values u = bc = 6, v = a + u = 11, J = 3v = 33, then the backward pass
(upstream derivative times local derivative) next to finite differences: dJ/da = 3, dJ/db = 6, dJ/dc = 9.
"""
import numpy as np

a, b, c = 5.0, 3.0, 2.0
eps = 1e-6


def cost_J(a, b, c):
    return 3 * (a + b * c)


# forward pass, left to right
u = b * c          # 6
v = a + u          # 11
J = 3 * v          # 33
print(f"forward: u = {u}, v = {v}, J = {J}")

# backward pass, right to left: each step = upstream derivative * local derivative
dv = 3.0           # J = 3v
da = dv * 1.0      # v = a + u  -> dv/da = 1
du = dv * 1.0      #            -> dv/du = 1
db = du * c        # u = b * c  -> du/db = c
dc = du * b        #            -> du/dc = b

# two-sided finite differences on J
da_num = (cost_J(a + eps, b, c) - cost_J(a - eps, b, c)) / (2 * eps)
db_num = (cost_J(a, b + eps, c) - cost_J(a, b - eps, c)) / (2 * eps)
dc_num = (cost_J(a, b, c + eps) - cost_J(a, b, c - eps)) / (2 * eps)
analytic, numeric = np.array([da, db, dc]), np.array([da_num, db_num, dc_num])
rel_err = np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric))
for name, an, nu in zip(["da", "db", "dc"], analytic, numeric, strict=True):
    print(f"{name}: chain rule {an:.6f}   finite difference {nu:.6f}")
print(f"rel_err = {rel_err:.1e}   (tolerance 1e-7)")
assert rel_err < 1e-7, rel_err

# the lecture's nudge: a from 5 to 5.001 moves J from 33 to 33.003
print(f"nudge a by 0.001: J goes from {cost_J(a, b, c):.3f} to {cost_J(a + 0.001, b, c):.3f}")

print(f"claim: dj_da = {da:.6f}")
print(f"claim: dj_db = {db:.6f}")
print(f"claim: dj_dc = {dc:.6f}")
