"""The server's WebSocket protocol (read_ahead_websocket_protocol): it keeps reading while few
messages wait for the app, and pauses when a client pipelines more than the app takes — every
request still answered, once, in order, over real sockets."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from agentgym.remote import env_app, running_env_server
from agentgym.remote.server import read_ahead_websocket_protocol


@pytest.mark.parametrize("inline", [False, True])
def test_pipelined_requests_are_all_answered_in_order(inline):
    app = env_app(inline_envs=["games/*"] if inline else ())
    with running_env_server(app=app) as url:
        async def scenario():
            async with connect(url.replace("http://", "ws://") + "/v1/ws", max_size=None) as ws:
                await ws.send(json.dumps({"type": "create", "id": 0, "env_id": "games/GuessTheNumber-v0",
                                          "max_turns": None}))
                assert json.loads(await ws.recv())["type"] == "result"
                # 300 requests sent before any answer is read, a few large: the server pauses and
                # resumes reading many times, and must neither lose nor reorder one.
                requests = []
                for index in range(1, 301):
                    if index % 7 == 1:
                        requests.append({"type": "reset", "id": index, "seed": index})
                    else:
                        requests.append({"type": "step", "id": index, "action": "x" * (50_000 if index % 50 == 0 else 1)})
                for request in requests:
                    await ws.send(json.dumps(request))
                answers = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in requests]
                assert [answer["id"] for answer in answers] == list(range(1, 301))
                assert all(answer["type"] == "result" for answer in answers), [a for a in answers if a["type"] != "result"]
                return answers

        answers = asyncio.run(scenario())
        steps = [answer["result"] for answer in answers if "reward" in answer["result"]]
        assert len(steps) == 300 - 43 and all("error" in step["info"] for step in steps)
        assert app.state.metrics.steps == len(steps) and app.state.metrics.resets == 43


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", None])
def test_max_queued_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="max_queued must be a positive integer"):
        read_ahead_websocket_protocol(bad)
