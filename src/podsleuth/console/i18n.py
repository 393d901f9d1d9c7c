"""The console's own words in English and Chinese; cluster text is never translated.

The diagnosis's texts are not here: they come translated with the diagnosis itself
(``podsleuth.locale.localize``). Every key has both forms (``tests/console`` checks it), and a
``{name}`` placeholder is filled by the template or ``podsleuth.console.present``.

The language follows ``alerts.locale`` (or ``--lang``); a browser can override it with
``?lang=zh`` (remembered in a cookie) or its ``Accept-Language`` when no cookie is set.
"""

from __future__ import annotations

LANGS = ("en", "zh")

WORDS: dict[str, dict[str, str]] = {
    "incidents": {"en": "Incidents", "zh": "事件"},
    "silences": {"en": "Silences", "zh": "静默"},
    "open": {"en": "open", "zh": "未解决"},
    "resolved": {"en": "resolved", "zh": "已解决"},
    "all": {"en": "all", "zh": "全部"},
    "state": {"en": "State", "zh": "状态"},
    "severity": {"en": "Severity", "zh": "严重级别"},
    "category": {"en": "Category", "zh": "类别"},
    "namespace": {"en": "Namespace", "zh": "命名空间"},
    "cluster": {"en": "Cluster", "zh": "集群"},
    "search": {"en": "Search", "zh": "搜索"},
    "filter": {"en": "Filter", "zh": "筛选"},
    "where": {"en": "Where", "zh": "位置"},
    "node": {"en": "Node", "zh": "节点"},
    "count": {"en": "Count", "zh": "次数"},
    "last_seen": {"en": "Last seen", "zh": "最近出现"},
    "first_seen": {"en": "First seen", "zh": "首次出现"},
    "cause": {"en": "Root cause", "zh": "根因"},
    "confidence": {"en": "confidence", "zh": "置信度"},
    "summary": {"en": "Summary", "zh": "概述"},
    "explanation": {"en": "Why", "zh": "原因"},
    "evidence": {"en": "Evidence chain", "zh": "证据链"},
    "remediation": {"en": "What to do", "zh": "处理建议"},
    "copy_button": {"en": "Copy", "zh": "复制"},
    "copied": {"en": "Copied", "zh": "已复制"},
    "affected": {"en": "Affected", "zh": "受影响对象"},
    "events": {"en": "Events", "zh": "事件记录"},
    "logs": {"en": "Previous container log", "zh": "上一个容器的日志"},
    "notifications": {"en": "Notification history", "zh": "通知记录"},
    "no_notifications": {
        "en": "No notification recorded (no receiver configured, or not routed).",
        "zh": "没有通知记录（未配置接收方，或未被路由）。",
    },
    "timeline": {"en": "Timeline", "zh": "时间线"},
    "linked": {"en": "Linked incidents (same cause)", "zh": "关联事件（同一根因）"},
    "matching_silences": {"en": "Silences that match", "zh": "匹配的静默"},
    "no_incidents": {"en": "No incident matches.", "zh": "没有匹配的事件。"},
    "total": {"en": "incidents", "zh": "个事件"},
    "by_category": {"en": "By category", "zh": "按类别"},
    "by_cluster": {"en": "By cluster", "zh": "按集群"},
    "live": {"en": "live", "zh": "实时"},
    "previous": {"en": "Previous", "zh": "上一页"},
    "next": {"en": "Next", "zh": "下一页"},
    "message": {"en": "Message", "zh": "消息"},
    "reason": {"en": "Reason", "zh": "原因码"},
    "workload": {"en": "Workload", "zh": "工作负载"},
    "container": {"en": "Container", "zh": "容器"},
    "pods": {"en": "Pods", "zh": "Pod"},
    "nodes": {"en": "Nodes", "zh": "节点"},
    "node_findings": {"en": "Node-agent findings", "zh": "节点代理发现"},
    "node_incidents": {"en": "Incidents on this node", "zh": "该节点上的事件"},
    "no_findings": {
        "en": "No node-agent finding recorded for this node.",
        "zh": "该节点没有节点代理的发现记录。",
    },
    "silence_this": {"en": "Silence this incident", "zh": "静默此事件"},
    "matchers": {"en": "Matchers", "zh": "匹配条件"},
    "duration": {"en": "For", "zh": "时长"},
    "comment": {"en": "Comment", "zh": "备注"},
    "token": {"en": "Write token", "zh": "写入令牌"},
    "create": {"en": "Create silence", "zh": "创建静默"},
    "expire": {"en": "Expire", "zh": "使失效"},
    "ends": {"en": "Ends", "zh": "结束于"},
    "created_by": {"en": "By", "zh": "创建者"},
    "read_only": {
        "en": "This console is read-only (started without --token-file).",
        "zh": "此控制台为只读（启动时未指定 --token-file）。",
    },
    "no_silences": {"en": "No silence.", "zh": "没有静默。"},
    "source": {"en": "Source", "zh": "来源"},
    "data": {"en": "data", "zh": "数据"},
    "not_found": {"en": "No such incident.", "zh": "没有这个事件。"},
    "language": {"en": "中文", "zh": "English"},
    "silence_cmd": {"en": "Silence from a shell", "zh": "在命令行中静默"},
    "any": {"en": "any", "zh": "不限"},
    "matchers_hint": {"en": "key=value, one per line", "zh": "key=value，每行一条"},
    "times": {"en": "x{n}", "zh": "{n} 次"},
    # Severity labels (the CSS class and the filter value stay the contract's id).
    "sev_critical": {"en": "critical", "zh": "严重"},
    "sev_error": {"en": "error", "zh": "错误"},
    "sev_warning": {"en": "warning", "zh": "警告"},
    "sev_info": {"en": "info", "zh": "提示"},
    # Timeline events (the store keeps the event id) and notification results.
    "ev_incident.opened": {"en": "incident.opened", "zh": "事件打开"},
    "ev_incident.updated": {"en": "incident.updated", "zh": "事件更新"},
    "ev_incident.resolved": {"en": "incident.resolved", "zh": "事件已解决"},
    "result_sent": {"en": "sent", "zh": "已发送"},
    "result_pending": {"en": "pending", "zh": "等待重试"},
    "result_dead": {"en": "dead", "zh": "已放弃"},
    "attempts": {"en": "{n} attempt(s)", "zh": "已尝试 {n} 次"},
    "last_error": {"en": "; last error: {error}", "zh": "；最后一次错误：{error}"},
    "contradictions": {"en": "Contradicting evidence", "zh": "相矛盾的证据"},
    "next_checks": {"en": "Next checks", "zh": "下一步检查"},
    # Why a silence is refused (``console.api.SilenceRejected``): the form shows them in the
    # page's language, the JSON API in English. {line}, {key} and {text} are the user's input.
    "rej_read_only": {
        "en": "read-only console: started without --token-file",
        "zh": "只读控制台：启动时未指定 --token-file",
    },
    "rej_no_token_yet": {
        "en": "read-only console: no write token in {path} yet (create the Secret it is mounted from)",
        "zh": "只读控制台：{path} 中还没有写入令牌（请创建挂载它的 Secret）",
    },
    "rej_csrf": {
        "en": "CSRF check failed: reload the page and try again",
        "zh": "CSRF 校验失败：请刷新页面后重试",
    },
    "rej_token": {"en": "wrong or missing write token", "zh": "写入令牌错误或缺失"},
    "rej_body": {"en": "the body must be a JSON object", "zh": "请求体必须是 JSON 对象"},
    "rej_no_matchers": {
        "en": "matchers: give at least one key: glob",
        "zh": "匹配条件：至少给出一条 key: glob",
    },
    "rej_not_key_value": {
        "en": "matchers: {line} is not key=value",
        "zh": "匹配条件：{line} 不是 key=value 形式",
    },
    "rej_twice": {"en": "matchers: {key} given twice", "zh": "匹配条件：{key} 出现了两次"},
    "rej_empty_value": {
        "en": "matchers.{key}: the value must be a non-empty string",
        "zh": "匹配条件 {key}：值必须是非空字符串",
    },
    "rej_unknown_key": {"en": "matchers: unknown key {key}", "zh": "匹配条件：未知的键 {key}"},
    "rej_duration": {
        "en": "not a duration: {text} (use e.g. 90s, 5m, 1h30m, 2d)",
        "zh": "不是有效的时长：{text}（例如 90s、5m、1h30m、2d）",
    },
    "rej_duration_range": {
        "en": "duration must be more than 0 and at most 366 days",
        "zh": "时长必须大于 0 且不超过 366 天",
    },
    "rej_comment": {"en": "comment must be a string", "zh": "备注必须是字符串"},
}


def pick_lang(query: str | None, cookie: str | None, accept: str | None, default: str) -> str:
    for candidate in (query, cookie):
        if candidate in LANGS:
            return candidate
    if accept and not cookie:
        first = accept.split(",", 1)[0].strip().lower()
        if first.startswith("zh"):
            return "zh"
    return default if default in LANGS else "en"


def translator(lang: str) -> dict[str, str]:
    """The page's words by key; a template looks up an id-derived key (``sev_<severity>``) with
    ``t.get(key, id)`` so an id without a word shows as the id itself."""
    return {key: forms.get(lang) or forms["en"] for key, forms in WORDS.items()}
