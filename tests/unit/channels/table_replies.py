"""Replies quoting a help-centre table, as the bot writes them: each channel's tests assert
exactly what its customers see of these."""

PRICING = """Here's what our help centre says in **Pricing**:

| Plan | Monthly billing | Annual billing |
| --- | --- | --- |
| Business | $20 per seat per month | $16 per seat per month |
| Pro | $12 per seat per month | $10 per seat per month |"""

QUOTED = """From **Pricing**:

> | Plan | Monthly billing |
> | --- | --- |
> | Business | $20 per seat |

Anything else?"""

FORMATTED_CELL = "| Plan | Details |\n| --- | --- |\n| **Pro** | *All* of [the guide](https://help.example/pro) |"

ESCAPED_PIPE = "| Plan | Seats |\n| --- | --- |\n| Team \\| Pro | 5 & up |"

RIGHT_ALIGNED = "| Plan | Price |\n| :-- | --: |\n| Basic | $5 |\n| Enterprise | $1,200 |"
