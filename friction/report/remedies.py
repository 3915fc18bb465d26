"""What to do about each kind of friction: the interventions the literature on
interdepartmental conflict recommends, phrased for the people who run the scan."""

REMEDIES: dict[str, list[str]] = {
    "blame": [
        "Run blameless post-mortems for missed targets: timeline first, causes second, names never.",
        "Agree shared definitions of lead and hand-off quality, so a miss can be traced to a step, not a team.",
        "Review misses jointly (both teams in the room) before either reports upwards.",
    ],
    "budget_rivalry": [
        "Plan budgets jointly: both teams see the whole envelope and the trade-offs before it is split.",
        "Tie part of each team's budget to a shared outcome (pipeline, revenue, retention) rather than activity.",
        "Publish how allocation decisions were made, including what was turned down and why.",
    ],
    "goal_mismatch": [
        "Set shared targets where work overlaps (one revenue or outcome number both teams are measured on).",
        "Write down who owns each number, account and deadline; review the list each quarter.",
        "Hold joint planning so targets are set together rather than reconciled afterwards.",
    ],
    "communication_breakdown": [
        "Name a liaison per team pair who owns the flow of information both ways.",
        "Co-locate or share rituals (a joint stand-up or weekly sync) for teams that hand work to each other.",
        "Agree a single channel and a response-time norm for cross-team requests; announce changes before they ship.",
    ],
    "role_confusion": [
        "Cross-train: short rotations or shadowing so each side sees the other's work and constraints.",
        "Write a RACI for recurring cross-team tasks (who does, approves, is consulted, is told).",
        "Introduce each function's scope and value in onboarding and in all-hands, not only in its own team.",
    ],
    "culture_clash": [
        "Agree working norms together (tone, channels, meeting manners) and revisit them.",
        "Offer facilitated conversations or mediation where a relationship has soured.",
        "Leaders model the tone they expect; address condescension and personal digs directly and early.",
    ],
    "strategy_misalignment": [
        "Share one plan: a joint roadmap or campaign calendar both teams commit to.",
        "Agree target segments and messaging together; kill duplicated efforts openly.",
        "Hold a regular strategy alignment review with both teams' leads and a single decision owner.",
    ],
}
