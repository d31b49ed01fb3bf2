"""The shared wallet: balances, ledger, idempotency and per-user locks."""

from server.wallet.keys import UserKeys
from server.wallet.lock import UserLocks
from server.wallet.scripts import WalletScripts
from server.wallet.wallet import Balances, LedgerEntry, Movement, Wallet, check_amount, check_key

__all__ = [
    "Balances",
    "LedgerEntry",
    "Movement",
    "UserKeys",
    "UserLocks",
    "Wallet",
    "WalletScripts",
    "check_amount",
    "check_key",
]
