"""The learner's own PE matrix comes back from the grader and sits beside the reference heatmap."""

from __future__ import annotations

from studytool.tui.figures import figure, learner_panel

SWAPPED = """
import torch

def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    if d_model <= 0 or seq_len <= 0 or d_model % 2:
        raise ValueError("bad size")
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angle = pos / base ** (i / d_model)
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.cos(angle)   # swapped on purpose
    pe[:, 1::2] = torch.sin(angle)
    return pe.float()
"""


def test_learner_matrix_returns_beside_the_reference(grade):
    result = grade("sinusoidal_pe", SWAPPED)
    assert result["status"] == "fail"
    panel = learner_panel(result, "pe")
    reference = figure("pe").panels[0]
    assert panel is not None and panel.title == "yours"
    assert len(panel.matrix) == len(reference.matrix)
    assert len(panel.matrix[0]) == len(reference.matrix[0])
    # the learner's own values, not the reference's: row 0 of the swapped answer is [1, 0, 1, 0, …]
    assert panel.matrix[0][:4] == [1.0, 0.0, 1.0, 0.0]
    assert reference.matrix[0][:4] == [0.0, 1.0, 0.0, 1.0]


def test_no_figure_without_a_matrix():
    assert (
        learner_panel({"tests": [], "figures": {"t": {"grad_norm_by_depth": {"depths": [2, 4]}}}}, "pe")
        is None
    )
    assert learner_panel(None, "pe") is None
