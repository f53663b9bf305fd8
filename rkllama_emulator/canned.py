"""Canned answers for the seed's benchmark prompts, sized like the measured completions."""

from __future__ import annotations

PYTHON_SENTENCE = (
    "Python is a high-level programming language known for its clear, readable syntax "
    "and its huge ecosystem."
)

PRIME_FUNCTION = '''Here is a simple function:

```python
def is_prime(n: int) -> bool:
    """Return True if n is a prime number."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    i = 3
    while i * i <= n:
        if n % i == 0:
            return False
        i += 2
    return True
```

How it works:

1. Numbers below 2 (0, 1 and negatives) are not prime.
2. The only even prime is 2, so other even numbers are rejected at once.
3. For odd numbers, we try odd divisors from 3 up to the square root of n. If none divides n
   evenly, n is prime.'''

PRIME_17 = (
    "Yes, 17 is a prime number.\n\n"
    "A prime number is a natural number greater than 1 that has no positive divisors other "
    "than 1 and itself. To check 17, we only need to try divisors up to its square root, "
    "which is about 4.12, so we test 2, 3 and 4.\n\n"
    "1. 17 divided by 2 is 8.5, not a whole number.\n"
    "2. 17 divided by 3 is about 5.67, not a whole number.\n"
    "3. 17 divided by 4 is 4.25, not a whole number.\n\n"
    "None of these divide 17 evenly, so 17 has exactly two divisors: 1 and 17. "
    "That makes it prime. It is also the seventh prime number, after 2, 3, 5, 7, 11 and 13, "
    "and the next prime after it is 19.\n\n"
    "In short: because no whole number between 2 and 16 divides 17 without a remainder, 17 "
    "is prime."
)

HAIKU = (
    "Here is a haiku:\n\n"
    "Silent circuits hum,\nlearning from the words we share,\nnew thoughts bloom in code."
)

# Lower-cased fragments of the benchmark prompts and their answers.
BENCHMARK_ANSWERS: tuple[tuple[str, str], ...] = (
    ("python in one sentence", PYTHON_SENTENCE),
    ("check if a number is prime", PRIME_FUNCTION),
    ("is 17 a prime number", PRIME_17),
    ("haiku about ai", HAIKU),
)


def benchmark_answer(user_text: str) -> str | None:
    """Return the canned answer for a benchmark prompt, or None."""
    lowered = user_text.lower()
    for fragment, answer in BENCHMARK_ANSWERS:
        if fragment in lowered:
            return answer
    return None
