"""What Assist says, in the request's language: confirmations and spoken errors.

`confirmation` turns successful device actions into HA's own response sentence;
`intent_responses` reads those sentences from `home-assistant-intents`; `sentences` holds
ours (translations) and the spoken error result; `languages` finds the language that serves
a request's code.
"""

from __future__ import annotations

from .confirmation import async_confirmation, succeeded_action
from .intent_responses import async_responses
from .sentences import async_error_result, async_error_sentence, async_strings

__all__ = [
    "async_confirmation",
    "async_error_result",
    "async_error_sentence",
    "async_responses",
    "async_strings",
    "succeeded_action",
]
