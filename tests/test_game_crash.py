"""Crash: hash chain, crash points, growth curve and round phases."""

import hashlib
import hmac
import itertools
import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from games.crash import (
    ChainConvention,
    HashChain,
    RoundPhase,
    advance,
    crash_point,
    elapsed_for,
    multiplier_at,
    point_for_bits,
    verify_chain,
    win_probability,
)
from games.states import GameError, IllegalTransitionError

SEED = "f3a1" * 16
SALT = "0000000000000000004d6ec16dafe9d8370958664c1dc422f452892264c59526"
SPAN = 2**52


BUSTABIT_SALT = "00000000000000000001e08b7fd44f95e3e950ac65650a8031a6d5e1750e34be"
BUSTABIT_GAMES = [  # game id, hash, bust: public results of bustabit's current chain
    (12306896, "94aa062026624e59a0ace092568d5f46e21b9bf1d5173609db8645dd62bdfc44", "10.91"),
    (12306895, "94e66d98029c61ecd27c4fb6b381d401c823cf3dfbdac9246756d5b655e125aa", "4.26"),
    (12306894, "8d3b9726ca7bc5e3637bf2079e09eaf2a9d67df4e6f50ff23a7b593bd802cca6", "1.83"),
]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def walk(round_hash: str, convention: ChainConvention) -> str:
    """The next hash of the chain, from the definition."""
    if convention is ChainConvention.BYTES:
        return hashlib.sha256(bytes.fromhex(round_hash)).hexdigest()
    return sha(round_hash)


def reference_point(
    round_hash: str, salt: str, convention: ChainConvention = ChainConvention.BYTES
) -> Decimal:
    """The published formula, step by step with Fractions."""
    message = (
        bytes.fromhex(round_hash)
        if convention is ChainConvention.BYTES
        else round_hash.encode("ascii")
    )
    digest = hmac.new(salt.encode("ascii"), message, hashlib.sha256)
    x = Fraction(int(digest.hexdigest()[:13], 16), 2**52)
    hundredths = math.floor(Fraction(99) / (1 - x))
    return max(Decimal(1), Decimal(hundredths) / 100)


@pytest.fixture(scope="module")
def long_chain() -> HashChain:
    return HashChain(SEED, 100_000, checkpoint_interval=1000)


def test_bustabit_games_check_against_their_published_results() -> None:
    """Public games of bustabit's chain: each hash is the next hash of the one after
    it, and its point under bustabit's salt is the bust bustabit published."""
    for (_, newer, _), (_, older, _) in itertools.pairwise(BUSTABIT_GAMES):
        assert walk(newer, ChainConvention.BYTES) == older
    chain = HashChain.from_checkpoints([BUSTABIT_GAMES[0][1]], 3, 3, ChainConvention.BYTES)
    for round_id, (_, round_hash, bust) in enumerate(BUSTABIT_GAMES[::-1], start=1):
        assert chain.hash_for_round(round_id) == round_hash
        assert crash_point(round_hash, BUSTABIT_SALT, ChainConvention.BYTES) == Decimal(bust)
    assert verify_chain(BUSTABIT_GAMES[0][1], chain.terminating_hash, 5) == 3


@pytest.mark.parametrize("convention", list(ChainConvention))
def test_small_chain_matches_the_definition(convention: ChainConvention) -> None:
    hashes = [sha(SEED)]
    for _ in range(50):
        hashes.append(walk(hashes[-1], convention))
    chain = HashChain(SEED, 50, checkpoint_interval=7, convention=convention)
    assert chain.terminating_hash == hashes[50]
    assert [chain.hash_for_round(k) for k in range(1, 51)] == hashes[49::-1]
    assert chain.checkpoints == hashes[0:50:7]
    assert walk(chain.hash_for_round(1), convention) == chain.terminating_hash
    for k in range(1, 50):
        assert walk(chain.hash_for_round(k + 1), convention) == chain.hash_for_round(k)
        assert verify_chain(chain.hash_for_round(k), chain.terminating_hash, 60, convention) == k


@pytest.mark.parametrize("interval", [1, 3, 10, 11])
def test_checkpoint_interval_does_not_change_the_chain(interval: int) -> None:
    reference = HashChain(SEED, 10, checkpoint_interval=1)
    chain = HashChain(SEED, 10, checkpoint_interval=interval)
    assert chain.terminating_hash == reference.terminating_hash
    assert all(chain.hash_for_round(k) == reference.hash_for_round(k) for k in range(1, 11))


def test_long_chain_spot_checks(long_chain: HashChain) -> None:
    assert len(long_chain.checkpoints) == 100
    assert long_chain.hash_for_round(100_000) == sha(SEED)
    assert walk(long_chain.hash_for_round(1), ChainConvention.BYTES) == long_chain.terminating_hash
    rounds = [
        1,
        999,
        1000,
        1001,
        50_000,
        99_000,
        99_999,
        *random.Random(7).sample(range(1, 100_000), 20),
    ]
    for k in rounds:
        assert walk(long_chain.hash_for_round(k + 1), ChainConvention.BYTES) == (
            long_chain.hash_for_round(k)
        )


def test_checkpoints_round_trip(long_chain: HashChain) -> None:
    restored = HashChain.from_checkpoints(long_chain.checkpoints, 100_000, 1000)
    assert restored.terminating_hash == long_chain.terminating_hash
    for k in (1, 2, 777, 1000, 54_321, 100_000):
        assert restored.hash_for_round(k) == long_chain.hash_for_round(k)


def test_checkpoint_import_is_validated(long_chain: HashChain) -> None:
    checkpoints = long_chain.checkpoints
    with pytest.raises(ValueError, match="checkpoints"):
        HashChain.from_checkpoints(checkpoints[:-1], 100_000, 1000)
    with pytest.raises(ValueError, match="hex"):
        HashChain.from_checkpoints([*checkpoints[:-1], "xyz"], 100_000, 1000)
    with pytest.raises(ValueError, match="positive"):
        HashChain.from_checkpoints(checkpoints, 100_000, 0)
    with pytest.raises(ValueError, match="positive"):
        HashChain(SEED, 10, checkpoint_interval=0)
    with pytest.raises(ValueError, match="positive"):
        HashChain(SEED, 0)


@pytest.mark.parametrize("round_number", [0, 100_001, -1])
def test_round_out_of_chain(long_chain: HashChain, round_number: int) -> None:
    with pytest.raises(ValueError, match="round"):
        long_chain.hash_for_round(round_number)


@pytest.mark.parametrize("round_number", [1, 2, 500, 1000, 4321])
def test_verify_chain_finds_the_round(long_chain: HashChain, round_number: int) -> None:
    round_hash = long_chain.hash_for_round(round_number)
    assert verify_chain(round_hash, long_chain.terminating_hash, 5000) == round_number
    assert verify_chain(round_hash, long_chain.terminating_hash, round_number - 1) is None


def test_verify_chain_rejects_foreign_hashes(long_chain: HashChain) -> None:
    assert verify_chain(sha("not in the chain"), long_chain.terminating_hash, 2000) is None
    assert verify_chain(long_chain.terminating_hash, long_chain.terminating_hash, 2000) is None


@pytest.mark.parametrize("convention", list(ChainConvention))
def test_crash_point_vectors(long_chain: HashChain, convention: ChainConvention) -> None:
    hashes = [long_chain.hash_for_round(k) for k in range(1, 200)]
    hashes += [sha(str(i)) for i in range(200)]
    for round_hash in hashes:
        point = crash_point(round_hash, SALT, convention)
        assert point == reference_point(round_hash, SALT, convention)
        assert point.as_tuple().exponent == -2


def test_crash_point_pinned_values_of_text_chains() -> None:
    """Regression pins of the convention of the first chains (hashes as hex text)."""
    text = ChainConvention.TEXT
    for seed, salt, pinned in (("0", SALT, "3.72"), ("1", SALT, "1.00"), ("2", "salt", "1.03")):
        round_hash = sha(seed)
        assert crash_point(round_hash, salt, text) == reference_point(round_hash, salt, text)
        assert crash_point(round_hash, salt, text) == Decimal(pinned)


def test_point_for_bits_range() -> None:
    assert point_for_bits(0) == Decimal("1.00")
    assert point_for_bits(SPAN - 1) == Decimal(99 * SPAN) / 100
    for bits in (-1, SPAN):
        with pytest.raises(ValueError, match="52-bit"):
            point_for_bits(bits)


@pytest.mark.parametrize("multiplier", ["1.01", "1.5", "2", "2.5", "10", "123.45", "10000"])
def test_exact_edge_closed_form(multiplier: str) -> None:
    m = Decimal(multiplier)
    x100 = int(m * 100)
    winners = 99 * SPAN // x100  # r wins iff r >= SPAN - winners
    first_winner = SPAN - winners
    assert point_for_bits(first_winner) >= m > point_for_bits(first_winner - 1)
    assert win_probability(m) == Fraction(winners, SPAN)
    rtp = Fraction(m) * win_probability(m)
    assert Fraction(99, 100) - Fraction(m) / SPAN < rtp <= Fraction(99, 100)


def test_win_probability_below_one_hundredth() -> None:
    assert win_probability(Decimal("1.00")) == 1
    assert win_probability(Decimal("1.001")) == win_probability(Decimal("1.01"))
    assert win_probability(Decimal("1.01")) == Fraction(99 * SPAN // 101, SPAN)


def test_crash_point_distribution() -> None:
    n = 200_000
    points = [crash_point(sha(str(i)), SALT) for i in range(n)]
    for target in ("1.5", "2", "10"):
        m = Decimal(target)
        p = float(win_probability(m))
        assert abs(p - 0.99 / float(m)) < 1e-12
        observed = sum(point >= m for point in points) / n
        assert abs(observed - p) < 5 * math.sqrt(p * (1 - p) / n)
    # 1.00 is every point below 1.01: 1 - 0.99 / 1.01, about 1.98% of rounds.
    p_instant = float(1 - win_probability(Decimal("1.01")))
    instant = sum(point == 1 for point in points) / n
    assert abs(instant - p_instant) < 5 * math.sqrt(p_instant * (1 - p_instant) / n)


def test_multiplier_curve_known_values() -> None:
    assert multiplier_at(0) == Decimal("1.00")
    assert multiplier_at(1) == Decimal("1.00")
    assert multiplier_at(11552) == Decimal("1.99")  # 100 e^0.69312 = 199.9946...
    assert multiplier_at(11553) == Decimal("2.00")
    with pytest.raises(ValueError, match="negative"):
        multiplier_at(-1)


def test_multiplier_curve_matches_float_exp_and_is_monotone() -> None:
    times = [*range(60_000), *range(60_000, 700_000, 997)]
    values = [multiplier_at(t) for t in times]
    assert all(a <= b for a, b in itertools.pairwise(values))
    for t, value in zip(times, values, strict=True):
        approx = 100 * math.exp(0.00006 * t)
        if abs(approx - round(approx)) > 1e-6 * approx:  # float exp is fine away from a cent
            assert value == Decimal(math.floor(approx)) / 100


@pytest.mark.parametrize(
    "multiplier", ["1", "1.00", "1.01", "1.011", "1.5", "2", "2.00", "3.33", "100", "1000000"]
)
def test_elapsed_for_is_the_first_tick(multiplier: str) -> None:
    m = Decimal(multiplier)
    t = elapsed_for(m)
    assert multiplier_at(t) >= m
    assert t == 0 or multiplier_at(t - 1) < m


def test_elapsed_for_crash_points() -> None:
    points = [crash_point(sha(str(i)), SALT) for i in range(300)]
    points.append(point_for_bits(SPAN - 1))
    for point in points:
        t = elapsed_for(point)
        assert multiplier_at(t) >= point
        assert t == 0 or multiplier_at(t - 1) < point
    assert elapsed_for(Decimal("1.00")) == 0
    with pytest.raises(ValueError, match=r"1\.00"):
        elapsed_for(Decimal("0.99"))


def test_round_phases_cycle() -> None:
    phase = RoundPhase.BETTING
    for expected in (RoundPhase.RUNNING, RoundPhase.CRASHED, RoundPhase.BETTING):
        phase = advance(phase, expected)
        assert phase is expected


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (RoundPhase.BETTING, RoundPhase.CRASHED),
        (RoundPhase.BETTING, RoundPhase.BETTING),
        (RoundPhase.RUNNING, RoundPhase.BETTING),
        (RoundPhase.RUNNING, RoundPhase.RUNNING),
        (RoundPhase.CRASHED, RoundPhase.RUNNING),
        (RoundPhase.CRASHED, RoundPhase.CRASHED),
    ],
)
def test_illegal_phase_moves(current: RoundPhase, target: RoundPhase) -> None:
    with pytest.raises(IllegalTransitionError):
        advance(current, target)
    assert issubclass(IllegalTransitionError, GameError)
