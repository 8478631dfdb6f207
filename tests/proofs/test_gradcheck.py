"""The backprop oracle: backward() agrees with finite differences, and the 1/m mistakes cost exactly what they should."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.proofs.gradcheck import (
    Net,
    backward,
    cost,
    forward,
    gradient_difference,
    init_params,
    losses,
    make_data,
    numerical_grads,
    relative_error,
)

TOL = 1e-7  # the course's "great" threshold for the gradient-check difference; these nets reach ~1e-10 to 1e-8
# Central differences carry ~1e-16 * J / EPS of round-off per entry: EPS = 1e-5 rather than the default 1e-6 keeps that
# near 1e-11, while the truncation error (~EPS^2) stays far below TOL.
EPS = 1e-5
KINK = 1e-3  # a nudge of EPS moves a z by ~1e-5, so |z| > KINK keeps ReLU's kink out of every difference
HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
OUTPUTS = [("sigmoid", "bce", 1), ("softmax", "cce", 3), ("linear", "mse", 2), ("sigmoid", "mse", 2), ("tanh", "mse", 1),
           ("relu", "mse", 2), ("leaky_relu", "mse", 1)]  # (output activation, loss, nL)


def net_data(net: Net, m: int = 7, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    X, Y = make_data(net, m, seed=seed + 1)
    return init_params(net, seed=seed), X, Y


def smallest_kinked_z(net: Net, params: dict[str, np.ndarray], X: np.ndarray) -> float:
    """The smallest |z| feeding a ReLU or leaky ReLU (inf if there is none): finite differences fail near 0."""
    kinked = [np.abs(Z).min() for (Z, _), name in zip(forward(net, params, X), net.activations, strict=True)
              if name in ("relu", "leaky_relu")]
    return float(min(kinked, default=np.inf))


@pytest.mark.parametrize("output, loss, nL", OUTPUTS, ids=[f"{o}+{loss}" for o, loss, _ in OUTPUTS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_backward_matches_numerical_grads_for_each_hidden_and_output(hidden: str, output: str, loss: str,
                                                                     nL: int) -> None:
    net = Net((3, 4, 3, nL), (hidden, hidden, output), loss)
    params, X, Y = net_data(net)
    assert smallest_kinked_z(net, params, X) > KINK
    grads, numeric = backward(net, params, X, Y), numerical_grads(net, params, X, Y, EPS)
    assert gradient_difference(grads, numeric) < TOL
    for key in numeric:
        assert relative_error(grads[key], numeric[key]) < TOL, key


@st.composite
def nets(draw: st.DrawFn) -> Net:
    """A random small net: 1-3 hidden layers of 1-5 units, any hidden activation, any valid output and loss."""
    hidden = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    output, loss, _ = draw(st.sampled_from(OUTPUTS))
    nL = draw(st.integers(2, 4)) if output == "softmax" else draw(st.integers(1, 3))
    acts = tuple(draw(st.sampled_from(HIDDEN)) for _ in hidden) + (output,)
    return Net((draw(st.integers(1, 4)), *hidden, nL), acts, loss)


@settings(max_examples=30, deadline=None)
@given(net=nets(), m=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_backward_matches_numerical_grads_on_random_nets(net: Net, m: int, seed: int) -> None:
    params, X, Y = net_data(net, m, seed)
    assume(smallest_kinked_z(net, params, X) > KINK)
    grads = backward(net, params, X, Y)
    # a near-dead output (say leaky ReLU with every z < 0) can leave ||grad|| ~ 1e-5, where the differences' own
    # round-off, not backward(), sets the relative error: the check has nothing to say there
    assume(np.sqrt(sum(float(np.sum(grads[k] ** 2)) for k in grads if k[:2] in ("dW", "db"))) > 1e-3)
    assert gradient_difference(grads, numerical_grads(net, params, X, Y, EPS)) < TOL


@settings(max_examples=30, deadline=None)
@given(net=nets(), m=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_course_and_alternative_conventions_give_the_same_dW_db(net: Net, m: int, seed: int) -> None:
    params, X, Y = net_data(net, m, seed)
    course, alternative = backward(net, params, X, Y, "course"), backward(net, params, X, Y, "alternative")
    for l in range(1, net.L + 1):
        for key in (f"dW{l}", f"db{l}"):
            assert np.abs(course[key] - alternative[key]).max() < 1e-12, key
    # they differ where the 1/m sits: dZ[L] is per example in one, already divided by m in the other
    np.testing.assert_allclose(course[f"dZ{net.L}"] / m, alternative[f"dZ{net.L}"], rtol=1e-12)


def test_one_over_m_every_layer_shrinks_layer_l_by_m_to_the_L_minus_l() -> None:
    m, net = 7, Net((3, 4, 3, 1), ("tanh", "relu", "sigmoid"), "bce")
    params, X, Y = net_data(net, m)
    correct = backward(net, params, X, Y, "alternative")
    mistaken = backward(net, params, X, Y, "alternative", one_over_m_every_layer=True)
    for l, expected in [(1, m**2), (2, m), (3, 1)]:
        for key in (f"dW{l}", f"db{l}"):
            ratio = np.linalg.norm(correct[key]) / np.linalg.norm(mistaken[key])
            assert ratio == pytest.approx(expected, rel=1e-12), key


@pytest.mark.parametrize("convention", ["course", "alternative"])
def test_one_over_m_twice_makes_every_dW_db_m_times_too_small(convention: str) -> None:
    m, net = 7, Net((3, 4, 3, 1), ("leaky_relu", "tanh", "sigmoid"), "bce")
    params, X, Y = net_data(net, m)
    correct = backward(net, params, X, Y, convention)
    mistaken = backward(net, params, X, Y, convention, one_over_m_twice=True)
    for l in (1, 2, 3):
        for key in (f"dW{l}", f"db{l}"):
            np.testing.assert_allclose(correct[key], m * mistaken[key], rtol=1e-12, err_msg=key)


def test_gradient_check_catches_the_one_over_m_twice_mistake() -> None:
    m, net = 7, Net((2, 3, 1), ("tanh", "sigmoid"), "bce")
    params, X, Y = net_data(net, m)
    mistaken = backward(net, params, X, Y, one_over_m_twice=True)
    # grad = true / m gives |1/m - 1| / (1/m + 1) = (m - 1) / (m + 1) = 0.75: far above any tolerance
    assert gradient_difference(mistaken, numerical_grads(net, params, X, Y, EPS)) == pytest.approx(0.75, abs=1e-7)


@pytest.mark.parametrize("convention", ["course", "alternative"])
def test_l2_gradient_matches_numerical_grads_of_the_regularised_cost(convention: str) -> None:
    net, l2 = Net((3, 5, 2), ("tanh", "linear"), "mse"), 0.7
    params, X, Y = net_data(net)
    assert cost(net, params, X, Y, l2) > cost(net, params, X, Y)
    grads = backward(net, params, X, Y, convention, l2=l2)
    assert gradient_difference(grads, numerical_grads(net, params, X, Y, EPS, l2=l2)) < TOL


def test_l2_adds_l2_over_m_times_W_to_dW_and_leaves_db_unchanged() -> None:
    m, net, l2 = 7, Net((3, 4, 1), ("relu", "sigmoid"), "bce"), 0.7
    params, X, Y = net_data(net, m)
    plain, regularised = backward(net, params, X, Y), backward(net, params, X, Y, l2=l2)
    for l in (1, 2):
        np.testing.assert_allclose(regularised[f"dW{l}"] - plain[f"dW{l}"], l2 / m * params[f"W{l}"], atol=1e-15)
        np.testing.assert_array_equal(regularised[f"db{l}"], plain[f"db{l}"])


@pytest.mark.parametrize("hidden, expected_dW1", [("relu", 0.0), ("leaky_relu", None)])
def test_relu_derivative_at_zero_is_zero_as_in_the_course(hidden: str, expected_dW1: float | None) -> None:
    net = Net((2, 3, 1), (hidden, "sigmoid"), "bce")
    params, X, Y = net_data(net)
    params["W1"][:], params["b1"][:] = 0.0, 0.0  # every Z1 is exactly 0: ReLU' gives 0, leaky ReLU' its slope
    grads = backward(net, params, X, Y)
    assert np.all(forward(net, params, X)[0][0] == 0)
    if expected_dW1 is None:
        np.testing.assert_allclose(grads["dZ1"], net.leaky_slope * grads["dA1"])
    else:
        assert np.all(grads["dW1"] == expected_dW1) and np.all(grads["db1"] == expected_dW1)


def test_backward_returns_every_gradient_in_course_shapes() -> None:
    m, net = 5, Net((3, 4, 2), ("tanh", "softmax"), "cce")
    params, X, Y = net_data(net, m)
    grads = backward(net, params, X, Y)
    assert sorted(grads) == ["dA0", "dA1", "dA2", "dW1", "dW2", "dZ1", "dZ2", "db1", "db2"]
    assert grads["dW1"].shape == (4, 3) and grads["db1"].shape == (4, 1) and grads["dZ1"].shape == (4, m)
    assert grads["dA0"].shape == X.shape and grads["dA2"].shape == (2, m)
    assert [(Z.shape, A.shape) for Z, A in forward(net, params, X)] == [((4, m), (4, m)), ((2, m), (2, m))]


def test_losses_on_hand_computed_values() -> None:
    half = np.array([[0.5, 0.5]])
    assert losses(Net((1, 1), ("sigmoid",), "bce"), half, np.array([[1.0, 0.0]])) == pytest.approx(np.log(2))
    AL, Y = np.array([[0.2], [0.8]]), np.array([[0.0], [1.0]])
    assert losses(Net((1, 2), ("softmax",), "cce"), AL, Y) == pytest.approx(-np.log(0.8))
    assert losses(Net((1, 2), ("linear",), "mse"), AL, Y) == pytest.approx(0.5 * (0.04 + 0.04))


@pytest.mark.parametrize("loss, acts, nL", [("bce", ("sigmoid",), 1), ("cce", ("softmax",), 4), ("mse", ("linear",), 2)])
def test_make_data_fits_the_loss(loss: str, acts: tuple[str, ...], nL: int) -> None:
    X, Y = make_data(Net((3, nL), acts, loss), m=50)
    assert X.shape == (3, 50) and Y.shape == (nL, 50) and X.dtype == Y.dtype == np.float64
    if loss == "bce":
        assert set(np.unique(Y)) == {0.0, 1.0}
    if loss == "cce":
        assert np.all(Y.sum(axis=0) == 1) and set(np.unique(Y)) == {0.0, 1.0}


@settings(max_examples=50, deadline=None)
@given(c=st.floats(0.01, 100), seed=st.integers(0, 1000))
def test_relative_error_of_c_times_the_truth_is_abs_c_minus_1_over_c_plus_1(c: float, seed: int) -> None:
    true = np.random.default_rng(seed).standard_normal(6)
    assert relative_error(c * true, true) == pytest.approx(abs(c - 1) / (c + 1), abs=1e-12)


@pytest.mark.parametrize("a, b, expected", [
    ([3.0, 4.0], [0.0, 0.0], 1.0),  # 5 / (5 + 0)
    ([1.0, 0.0], [0.0, 1.0], np.sqrt(2) / 2),  # sqrt(2) / (1 + 1)
    ([2.0, 2.0], [2.0, 2.0], 0.0),
    ([0.0, 0.0], [0.0, 0.0], 0.0),  # both zero: no 0 / 0
])
def test_relative_error_on_hand_computed_vectors(a: list[float], b: list[float], expected: float) -> None:
    assert relative_error(np.array(a), np.array(b)) == pytest.approx(expected)


def test_gradient_difference_flattens_all_dW_db_together_and_ignores_dZ_dA() -> None:
    grads = {"dW1": np.array([[3.0]]), "db1": np.array([[0.0]]), "dZ1": np.array([[99.0]]), "dA0": np.array([[9.0]])}
    numeric = {"dW1": np.array([[3.0]]), "db1": np.array([[4.0]])}
    # ||(0, -4)|| / (||(3, 0)|| + ||(3, 4)||) = 4 / (3 + 5): one vector, not a mean of per-parameter errors
    assert gradient_difference(grads, numeric) == pytest.approx(0.5)


def test_gradient_difference_names_missing_gradients() -> None:
    with pytest.raises(ValueError, match="grads lacks db1, which numeric has"):
        gradient_difference({"dW1": np.ones((1, 1))}, {"dW1": np.ones((1, 1)), "db1": np.ones((1, 1))})


BAD_NETS = [
    ((3,), ("sigmoid",), "bce", "Net.sizes must be (n_x, n1, ..., nL) with at least two positive ints, got (3,)"),
    ((3, 0, 1), ("relu", "sigmoid"), "bce",
     "Net.sizes must be (n_x, n1, ..., nL) with at least two positive ints, got (3, 0, 1)"),
    ((3, 4, 1), ("sigmoid",), "bce",
     "Net.activations must have one name per layer (2 for sizes (3, 4, 1)), got 1: ('sigmoid',)"),
    ((3, 4, 1), ("softplus", "sigmoid"), "bce",
     "Net.activations[0] (layer 1) must be one of sigmoid, tanh, relu, leaky_relu, linear, softmax; got 'softplus'"),
    ((3, 4, 2), ("softmax", "softmax"), "cce",
     "Net.activations[0] (layer 1) is 'softmax', which is allowed only as the last activation, with loss 'cce'"),
    ((3, 1), ("sigmoid",), "hinge", "Net.loss must be one of bce, cce, mse; got 'hinge'"),
    ((3, 1), ("tanh",), "bce", "Net.loss 'bce' needs activations[-1] 'sigmoid', got 'tanh'"),
    ((3, 2), ("sigmoid",), "cce", "Net.loss 'cce' needs activations[-1] 'softmax', got 'sigmoid'"),
    ((3, 2), ("softmax",), "mse", "Net.activations[-1] 'softmax' needs loss 'cce', got 'mse'"),
    ((3, 1), ("softmax",), "cce", "Net.sizes[-1] must be >= 2 for a softmax output (one unit is always 1), got 1"),
]


@pytest.mark.parametrize("sizes, activations, loss, message", BAD_NETS, ids=[b[3][:40] for b in BAD_NETS])
def test_bad_net_is_refused_naming_field_value_and_allowed(sizes: tuple[int, ...], activations: tuple[str, ...],
                                                          loss: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        Net(sizes, activations, loss)
    assert str(error.value) == message


def test_bad_leaky_slope_and_convention_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^Net.leaky_slope must be in \[0, 1\), got -0.1$"):
        Net((2, 1), ("leaky_relu",), "mse", leaky_slope=-0.1)
    net = Net((2, 1), ("sigmoid",))
    params, X, Y = net_data(net)
    with pytest.raises(ValueError, match=r"^convention must be one of course, alternative; got 'andrew'$"):
        backward(net, params, X, Y, convention="andrew")


def test_wrongly_shaped_X_or_Y_is_refused_with_the_expected_shape() -> None:
    net = Net((3, 1), ("sigmoid",))
    params, X, Y = net_data(net, m=4)
    with pytest.raises(ValueError, match=r"X must be \(n_x, m\) = \(3, m\), one example per column, got \(4, 3\)"):
        forward(net, params, X.T)
    with pytest.raises(ValueError, match=r"Y must have the shape of AL \(1, 4\) .*got \(4,\)"):
        cost(net, params, X, Y.ravel())
