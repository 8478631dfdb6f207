"""Draft a reply to a forum topic with the bot's HTTP API (python -m bot serve must be running).

    python examples/forum_reply.py "Why no 1/m in dZ2?" "In week 3 dW2 has 1/m but dZ2 = A2 - Y does not..."
"""
import os
import sys

import httpx

API = os.environ.get("BOT_API", "http://127.0.0.1:8000")
title, body = sys.argv[1], " ".join(sys.argv[2:])
question = f"{title}\n\n{body}".strip()[:4000]  # the API refuses longer questions with 413

answer = httpx.post(f"{API}/v1/ask", json={"question": question}, timeout=30).raise_for_status().json()
if not answer["in_scope"]:
    print("No draft: the knowledge base does not cover this topic. Nearest entries, for a mentor:")
    print("\n".join(f"- [{s['title']}]({s['url']})" for s in answer["answers"]))
    sys.exit(1)
if answer["ambiguous"]:  # the bot is unsure which entry it is: the draft lists the candidates first
    print("*(Draft, please check: this may not be exactly what was asked.)*\n")
print(answer["answer_markdown"])
print(f"<!-- ask_id {answer['ask_id']}: POST /v1/feedback with it once a mentor says whether this helped -->")
