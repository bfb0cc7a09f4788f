"""``observatory-loadgen``: an open-loop load generator with coordinated-omission correction, its analysis and
the regression gate, and the ``make bench`` suite built on them."""
