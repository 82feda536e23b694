"""Supportive information shown to children (Ofcom ICU F2), in plain language."""

from __future__ import annotations

UNKNOWN_SENDER = (
    "This message is from someone you are not connected with. "
    "You don't have to open it or reply, and you can block them. "
    "Never share where you live, your school or photos of yourself. "
    "If anything feels wrong, tell an adult you trust."
)

RISKY_CONVERSATION = (
    "Some things in this chat are things people use to trick young people, "
    "like asking you to keep secrets or to move to another app. "
    "You don't have to do what they ask. If something doesn't feel right, "
    "stop chatting, block them and tell an adult you trust."
)

UNKNOWN_REQUEST = (
    "Someone you are not connected with wants to connect with you. "
    "Only accept people you know in real life. You can say no or block them, "
    "and you can tell an adult you trust."
)

ABOUT_TO_CONNECT = (
    "You are about to connect with someone you don't know. "
    "People online are not always who they say they are. "
    "Don't share where you live, your school or photos of yourself, "
    "and tell an adult you trust if anything feels wrong."
)

SEXTORTION_SUPPORT = (
    "Someone is threatening you or asking you for money or more pictures. "
    "This is not your fault, and you are not in trouble. "
    "Don't pay and don't send anything more. Keep the messages: don't delete them. "
    "Block them, report it, and tell an adult you trust. "
    "You can get pictures taken down with the services below."
)

SELF_HARM_SUPPORT = (
    "Nobody has the right to make you hurt yourself. You don't have to do what they say. "
    "If you feel unsafe or want to talk to someone now, you can contact a crisis line below."
)
