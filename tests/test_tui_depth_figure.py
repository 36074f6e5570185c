"""The prenorm_postnorm result shows its figure in the app: the last layer's gradient norm against
depth for Pre-LN and Post-LN (issue 10 §1.7), and a passing test's message says what was measured."""

from __future__ import annotations

import pytest
from _tui_support import make_app, make_core, settle
from test_tui_app import _text

pytestmark = pytest.mark.anyio

FIGURE_TEST = (
    "gradient of the last layer against depth (2 to 32 layers), Pre-LN and Post-LN at initialisation (figure)"
)
MEASURED = "measured on stacks of 2, 4, 8, 16, 32 of your blocks at initialisation"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _result() -> dict:
    return {
        "exercise": "prenorm_postnorm",
        "status": "pass",
        "passed": 1,
        "total": 1,
        "duration_s": 0.7,
        "tests": [{"name": FIGURE_TEST, "status": "pass", "message": MEASURED + " (numbers)"}],
        "figures": {
            FIGURE_TEST: {
                "grad_norm_by_depth": {
                    "depths": [2, 4, 8, 16, 32],
                    "pre_ln": [0.3202, 0.2757, 0.2152, 0.1641, 0.1125],
                    "post_ln": [0.3507, 0.3574, 0.376, 0.4572, 0.5039],
                    "slope_pre_ln": -0.38,
                    "slope_post_ln": 0.14,
                }
            }
        },
    }


@pytest.mark.parametrize("lang,title", [("en", "against depth L"), ("zh", "随深度 L 的变化")])
async def test_prenorm_result_shows_gradient_against_depth(lang, title):
    core = make_core(exercises=("sinusoidal_pe", "prenorm_postnorm"))
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        if lang == "zh":
            await pilot.press("l")
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        screen.select_item("prenorm_postnorm")
        await settle(pilot)
        await pilot.press("s")  # start it (a result is shown for a started exercise)
        await settle(pilot)
        screen.results["prenorm_postnorm"] = _result()
        screen.show()
        await settle(pilot)
        text = _text(app)
        assert title in text
        assert "32" in text and "0.113" in text and "0.504" in text
        assert "Post-LN +0.14" in text and "Pre-LN -0.38" in text
        assert MEASURED in text  # a pass says what was measured
