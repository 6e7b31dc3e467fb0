"""The web widget, a channel in its own package: the channel (`channel`: the demo page, the widget
script and its websocket), the frames it speaks (`frames`, opened by `handshake`), visitors'
sessions (`sessions`), the page and script served from `static/` (`assets`), the widget's texts
in the visitor's language (`texts`), and its settings section `[web]` (`settings`). It is found
through its `supporthub.channels` entry point and speaks to the hub only through
`core.channel`'s ports."""

from channels.web.channel import WebChannel

__all__ = ["WebChannel"]
