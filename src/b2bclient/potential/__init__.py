"""Each client's untapped potential: its wallet, our share of it, and the whitespace.

* :class:`WalletModel` estimates the attainable yearly spend of every organisation from
  comparable peers (an upper-quantile regression of spend on size, industry, region and buying
  behaviour) and gives ``share_of_wallet`` and ``whitespace = potential - spend``, ranked, with
  each organisation's peers and drivers named.
* :func:`plot_whitespace` draws the whitespace by segment (matplotlib, extra ``plot``).

Examples
--------
>>> import b2bclient as bc
>>> base = bc.datasets.make_client_base(150, seed=2)
>>> m = bc.potential.WalletModel().fit(base, as_of="2025-01-01")
>>> bool((m.whitespace_ >= 0).all())
True
"""

from b2bclient.potential._plot import plot_whitespace
from b2bclient.potential._wallet import DEFAULT_INPUTS, WalletModel

__all__ = ["DEFAULT_INPUTS", "WalletModel", "plot_whitespace"]
