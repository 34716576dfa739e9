"""The official OpenAI and Anthropic Python SDKs, unchanged, against `apihub serve`.

Usage: python gateway_sdk_check.py BASE_URL LOCAL_KEY MODEL
(BASE_URL without /v1, e.g. http://127.0.0.1:8765). Every call must succeed, streaming
and not; a wrong key and an unknown model must raise the SDKs' own error classes.
Prints one line per check and exits non-zero on the first failure.
"""

import sys

import anthropic
import openai

base, key, model = sys.argv[1], sys.argv[2], sys.argv[3]
checks = 0


def ok(name, cond, detail=""):
    global checks
    if not cond:
        print(f"FAIL {name}: {detail}")
        sys.exit(1)
    checks += 1
    print(f"ok   {name} {detail}")


oa = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)

r = oa.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
ok("openai chat", r.choices[0].message.content.startswith("hello"), repr(r.choices[0].message.content[:30]))
ok("openai chat usage", r.usage.prompt_tokens == 10 and r.usage.completion_tokens == 5)

parts = []
with oa.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
) as s:
    for chunk in s:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
ok("openai chat stream", "".join(parts).startswith("hello from"), f"{len(parts)} chunks")

r = oa.completions.create(model=model, prompt="hi")
ok("openai completions", r.choices[0].text.startswith("hello"))

r = oa.embeddings.create(model=model, input="hi")
ok("openai embeddings", len(r.data[0].embedding) == 3, str(r.data[0].embedding))

r = oa.responses.create(model=model, input="hi")
ok("openai responses", r.output_text.startswith("hello"), repr(r.output_text[:30]))

deltas, done = [], None
with oa.responses.create(model=model, input="hi", stream=True) as s:
    for ev in s:
        if ev.type == "response.output_text.delta":
            deltas.append(ev.delta)
        elif ev.type == "response.completed":
            done = ev.response
ok("openai responses stream", "".join(deltas).startswith("hello") and done is not None, f"{len(deltas)} deltas")

ids = [m.id for m in oa.models.list()]
ok("openai models.list", model in ids, str(ids))

try:
    openai.OpenAI(base_url=f"{base}/v1", api_key="sk-local-wrong", max_retries=0).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}]
    )
    ok("openai wrong key", False, "no error")
except openai.AuthenticationError as e:
    ok("openai wrong key", e.status_code == 401, type(e).__name__)

try:
    oa.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    ok("openai unknown model", False, "no error")
except openai.NotFoundError as e:
    ok("openai unknown model", "no-such-model" in str(e), type(e).__name__)

# A stream that breaks after its first event ends with the protocol's error event, which
# each SDK raises as its own API error (the seeded data dir sells a model named "break").
if "break" in ids:
    got = []
    try:
        for chunk in oa.chat.completions.create(model="break", messages=[{"role": "user", "content": "hi"}], stream=True):
            got.append(chunk)
        ok("openai broken stream", False, "no error")
    except openai.APIError as e:
        ok("openai broken stream", len(got) == 1 and "upstream stream broke" in str(e), f"{type(e).__name__} after {len(got)} chunk")

an = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)

m = an.messages.create(model=model, max_tokens=16, messages=[{"role": "user", "content": "hi"}])
ok("anthropic messages", m.content[0].text.startswith("hello"), repr(m.content[0].text[:30]))
ok("anthropic usage", m.usage.input_tokens == 10 and m.usage.output_tokens == 5)

with an.messages.stream(model=model, max_tokens=16, messages=[{"role": "user", "content": "hi"}]) as s:
    text = "".join(s.text_stream)
    final = s.get_final_message()
ok("anthropic messages stream", text.startswith("hello from") and final.usage.output_tokens == 5, f"{len(text)} chars")

raw = an.messages.create(model=model, max_tokens=16, messages=[{"role": "user", "content": "hi"}], stream=True)
kinds = [ev.type for ev in raw]
ok("anthropic raw stream events", kinds[0] == "message_start" and kinds[-1] == "message_stop", f"{len(kinds)} events")

c = an.messages.count_tokens(model=model, messages=[{"role": "user", "content": "hi"}])
ok("anthropic count_tokens", c.input_tokens == 7)

ids = [m.id for m in an.models.list()]
ok("anthropic models.list", model in ids, str(ids))

if "break" in ids:
    got = []
    try:
        for ev in an.messages.create(model="break", max_tokens=16, messages=[{"role": "user", "content": "hi"}], stream=True):
            got.append(ev)
        ok("anthropic broken stream", False, "no error")
    except anthropic.APIStatusError as e:
        ok("anthropic broken stream", len(got) == 1 and "upstream stream broke" in str(e), f"{type(e).__name__} after {len(got)} event")

try:
    anthropic.Anthropic(base_url=base, api_key="sk-local-wrong", max_retries=0).messages.create(
        model=model, max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    ok("anthropic wrong key", False, "no error")
except anthropic.AuthenticationError as e:
    ok("anthropic wrong key", e.status_code == 401, type(e).__name__)

try:
    an.messages.create(model="no-such-model", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    ok("anthropic unknown model", False, "no error")
except anthropic.NotFoundError as e:
    ok("anthropic unknown model", e.status_code == 404, type(e).__name__)

print(f"{checks} passed, 0 failed (openai {openai.__version__}, anthropic {anthropic.__version__})")
