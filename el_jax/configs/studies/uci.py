"""Study (b): the mixing paper's UCI protocol (§4.4, Table 4) on scikit-learn's four bundled UCI sets.

Digits, iris, wine and breast cancer (60/20/20 stratified splits); a linear classifier and a network with one
hidden layer of the input's width; 50 epochs, batch 8, learning rate in {0.01, 0.005, 0.001} and the epoch chosen on
validation accuracy; SGD with momentum 0.9 (the paper names no optimiser). CE, the three mixing schedules, the
expectation loss alone and focal loss (gamma 2) with the paper's alpha = 0.25 and with alpha = 1 (alpha scales the
gradient: under SGD, alpha = 0.25 is alpha = 1 at a quarter of the learning rate, and alpha = 0.25 at 4x the rates is
exactly the alpha = 1 sweep); 5 seeds. Wins, mean accuracy change against CE and mean rank, as in Table 4 (which
covers 121 sets; four sets make these statistics coarse).

  python reproduce.py --studies uci
"""

from el_jax.configs import common
from el_jax.configs.studies import menu
from el_jax.studies import grid, uci

SEEDS = (0, 1, 2, 3, 4)


def get_study(arg=None) -> grid.Study:
  args = common.parse_arg(arg, tiny=False)
  labels = ("ce", "mix_f0_to_05") if args.tiny else grid.UCI_LOSSES
  losses = {label: menu.loss(label) for label in labels}
  shrink = {"datasets": ("iris", "wine"), "epochs": 3, "seeds": (0, 1)} if args.tiny else {"seeds": SEEDS}
  sweep = uci.Sweep(networks=dict(grid.UCI_NETWORKS), losses=losses, **shrink)
  return grid.Study(
    name="uci",
    title="(b) UCI sets: the mixing paper's Table 4",
    description=__doc__.split("\n\n")[1],
    uci=sweep,
  )
