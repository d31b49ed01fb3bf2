"""The shared wallet: balances, ledger, and idempotency."""

from server.wallet.keys import UserKeys
from server.wallet.scripts import WalletScripts
from server.wallet.wallet import Balances, LedgerEntry, Movement, Wallet, check_amount, check_key

__all__ = [
    "Balances",
    "LedgerEntry",
    "Movement",
    "UserKeys",
    "Wallet",
    "WalletScripts",
    "check_amount",
    "check_key",
]
