"""The staff side of the bot: the panel (/admin, «🛠 Управление») and the screens behind it.

Each screen is a feature of its own (an Action enum in ``bot.telegram.actions``, ``ROUTES`` here,
registered in ``bot.telegram.application``) and opens from the hub (``hub.ENTRIES``). As
everywhere, a handler parses, calls one service method and renders: who may do what (role and
complex scope) is decided and audited by the services, never by hiding a button.
"""
