"""Token transcripts keep prompt(t+1) == prompt(t) + generated(t) + appended(t) exactly, with
real chat templates, sampled token sequences that are not the canonical tokenisation, tool
turns and generations cut by the token limit."""

import pytest

from agentgym.rollout import TokenTranscript

from .chat_tokenizers import llama3_style_tokenizer, smollm2_tokenizer

TOKENIZERS = {"smollm2": smollm2_tokenizer, "llama3-style": llama3_style_tokenizer}
TOOLS = [{"type": "function", "function": {"name": "add", "description": "Add two numbers.",
                                           "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture(params=sorted(TOKENIZERS))
def tokenizer(request):
    return TOKENIZERS[request.param]()


def end_of_turn(tokenizer) -> int:
    return tokenizer.convert_tokens_to_ids("<|im_end|>" if "<|im_end|>" in tokenizer.get_vocab() else "<|eot_id|>")


def char_by_char(tokenizer, text):
    """A valid but non-canonical token sequence for ``text``: one token per character where the
    vocabulary allows (what a sampler may well produce)."""
    ids = []
    for char in text:
        ids += tokenizer.encode(char, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    return ids


def play(tokenizer, replies, tools=None):
    messages = [{"role": "system", "content": "You play games."}, {"role": "user", "content": "Guess 1..100"}]
    transcript = TokenTranscript(tokenizer, messages, tools)
    prompts = [transcript.prompt_ids]
    for i, (text, with_eos, new_messages) in enumerate(replies):
        generated = char_by_char(tokenizer, text) + ([end_of_turn(tokenizer)] if with_eos else [])
        action = transcript.add_generation(generated, [-0.5] * len(generated), text)
        assert transcript.token_ids[action.start: action.end] == generated
        transcript.add_observation(new_messages)
        prompts.append(transcript.prompt_ids)
    return transcript, prompts


def test_prefix_property_holds_across_turns(tokenizer):
    replies = [("I guess 50", True, [{"role": "user", "content": "Higher than 50."}]),
               ("75 then", True, [{"role": "user", "content": "Lower than 75."}]),
               (" 62", False, [{"role": "user", "content": "Correct!"}])]  # cut by max_tokens: no EOS
    transcript, prompts = play(tokenizer, replies)
    assert transcript.mismatches == 0 and transcript.token_exact
    spans = transcript.spans
    assert [s.kind for s in spans] == ["prompt"] + ["action", "observation"] * 3
    for t in range(3):  # each prompt is the previous one plus that turn's action and observation
        action, observation = spans[1 + 2 * t], spans[2 + 2 * t]
        assert prompts[t + 1][: len(prompts[t])] == prompts[t]
        assert action.start == len(prompts[t]) and observation.end == len(prompts[t + 1])
    # The exact sequence renders the same conversation the template does.
    rendered = tokenizer.apply_chat_template(transcript.messages, tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(transcript.token_ids) == rendered
    assert transcript.retokenization_drift > 0, "char-by-char sampling is not the canonical tokenisation"


def test_loss_mask_covers_exactly_the_generated_tokens(tokenizer):
    transcript, _ = play(tokenizer, [("50", True, [{"role": "user", "content": "Higher."}])])
    mask = transcript.loss_mask()
    action = transcript.spans[1]
    assert sum(mask) == len(action) and all(mask[action.start: action.end])


def test_tool_turns(tokenizer):
    call = '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'
    replies = [(call, True, [{"role": "tool", "tool_call_id": "call_0", "name": "add", "content": "5"}]),
               ("The answer is 5", True, [{"role": "user", "content": "Correct!"}])]
    transcript, prompts = play(tokenizer, replies, tools=TOOLS)
    assert transcript.token_exact
    text = tokenizer.decode(prompts[1])
    if "tools" in tokenizer.chat_template:  # SmolLM2's template does not render tools
        assert text.count("add: Add two numbers.") == 1
    assert call in text and "5" in tokenizer.decode(transcript.token_ids[transcript.spans[2].start:])


def test_a_template_that_rewrites_history_is_counted_as_a_mismatch():
    tokenizer = llama3_style_tokenizer()
    forgetful = tokenizer.chat_template.replace(
        "message['content']", "(message['content'] if message['role'] != 'assistant' or loop.last else '...')")

    class Forgetful:
        """The Llama-3-style tokenizer with a template that hides earlier assistant turns."""

        def __getattr__(self, name):
            return getattr(tokenizer, name)

        def apply_chat_template(self, messages, **kwargs):
            return tokenizer.apply_chat_template(messages, chat_template=forgetful, **kwargs)

    transcript, _ = play(Forgetful(), [("50", True, [{"role": "user", "content": "Higher."}]),
                                       ("75", True, [{"role": "user", "content": "Lower."}])])
    assert transcript.mismatches >= 1 and not transcript.token_exact


def test_calls_out_of_order_are_refused():
    transcript = TokenTranscript(llama3_style_tokenizer(), [{"role": "user", "content": "hi"}])
    with pytest.raises(RuntimeError):
        transcript.add_observation([{"role": "user", "content": "again"}])
    transcript.add_generation([5], None, "x")
    with pytest.raises(RuntimeError):
        transcript.add_generation([5], None, "x")
