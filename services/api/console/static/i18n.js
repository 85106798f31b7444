// Words of the console, zh-CN first; `t(key)` picks the current language, falling back to the key.
"use strict";
const WORDS = {
  zh: {
    subtitle: "防返贫动态监测", inbox: "待办", board: "看板", logout: "退出", login_title: "登录",
    username: "用户名", password: "密码", login: "登录", bad_login: "用户名或密码错误，或账号已停用",
    my_inbox: "我的待办", empty: "暂无待办预警", level: "等级", red: "红色", yellow: "黄色", green: "绿色",
    status: "状态", due: "认定期限", overdue: "逾期", household: "农户", village: "村", raised: "预警时间",
    open: "待核实", verifying: "核实中", reviewing: "村级评议公示", confirmed: "已认定", dismissed: "已排除",
    assisting: "帮扶中", resolved: "风险已消除", reasons: "预警原因", figures: "家庭情况", timeline: "时间线",
    chart: "近12个月人均纯收入（元）", line: "监测线", members: "人口", labourers: "劳动力",
    income_12m: "近12个月纯收入", per_capita_income: "人均纯收入", monitoring_line: "监测线",
    medical_out_of_pocket_12m: "近12个月医疗自付", per_capita_after_rigid_spending: "扣除刚性支出后人均",
    changed_underneath: "此预警刚被更新，您填写的内容尚未提交", reload: "重新载入", live: "实时更新",
    actions: "办理", take: "接案，开始核实", visit: "入户核实并提交村级评议", visited_at: "入户时间",
    consent: "农户已签字同意", note: "备注", dismiss: "排除预警", reason: "排除理由", confirm: "县级审定认定",
    category: "监测类别", unstable_exited: "脱贫不稳定户", marginal: "边缘易致贫户", sudden_hardship: "突发严重困难户",
    measure: "登记帮扶措施", type: "措施类型", amount: "金额（元）", date: "日期", start_assist: "开始帮扶",
    resolve: "风险消除", submit: "提交", back: "返回待办", measures: "帮扶措施", visit_done: "入户核实",
    no_actions: "当前状态下您没有可办理的操作", done: "已保存", board_title: "动态清零看板", township: "乡镇",
    total: "合计", export: "导出台账", by_status: "按状态", score: "评分", readonly: "只读", unit_yuan: "元",
    industry: "产业帮扶", employment: "就业帮扶", medical_assistance: "医疗救助", minimum_living_allowance: "低保",
    extreme_poverty_support: "特困供养", temporary_relief: "临时救助", education_aid: "教育资助", housing: "住房保障",
    other: "其他", session_ended: "登录已过期，请重新登录", loading: "加载中…", assignee: "经办人",
    household_missing: "尚无该户的评分数据", open_cases: "未清零", forbidden: "该记录不在您的辖区内", not_found: "没有找到该记录", ch_raised: "发出预警", ch_reopened: "重新预警", ch_evidence_added: "新增证据",
    ch_escalated: "升级预警", ch_measure_added: "登记帮扶措施", "ch_reminder:home_visit": "入户核实即将到期",
    "ch_reminder:decision": "认定即将到期", "ch_overdue:home_visit": "入户核实逾期", "ch_overdue:decision": "认定逾期",
    region: "地区", region_hint: "输入名称、拼音首字母或代码", no_match: "没有匹配的地区", whole_country: "全国",
    users: "用户", create_user: "新建用户", role: "角色", active: "正常", disabled: "已停用",
    township_worker: "乡镇干部", county_supervisor: "县级审核人员", analyst: "数据分析员", admin: "管理员",
    created: "已创建", pick_region: "请从建议中选择辖区",
  },
  en: {
    subtitle: "return-to-poverty watch", inbox: "Inbox", board: "Board", logout: "Log out", login_title: "Log in",
    username: "Username", password: "Password", login: "Log in", bad_login: "Wrong username or password, or account disabled",
    my_inbox: "My inbox", empty: "Nothing to do", level: "Level", red: "red", yellow: "yellow", green: "green",
    status: "Status", due: "Decide by", overdue: "overdue", household: "Household", village: "Village", raised: "Raised",
    open: "open", verifying: "verifying", reviewing: "village review", confirmed: "confirmed", dismissed: "dismissed",
    assisting: "assisting", resolved: "resolved", reasons: "Why", figures: "Figures", timeline: "Timeline",
    chart: "Per-capita net income, last 12 months (yuan)", line: "line", members: "Members", labourers: "Labourers",
    income_12m: "Net income, 12 months", per_capita_income: "Per capita", monitoring_line: "Monitoring line",
    medical_out_of_pocket_12m: "Medical out-of-pocket, 12 months", per_capita_after_rigid_spending: "Per capita after rigid spending",
    changed_underneath: "This alert has just changed; what you typed was not submitted", reload: "Reload", live: "Live updates",
    actions: "Actions", take: "Take the case (verify)", visit: "Record the visit and send to village review",
    visited_at: "Visited at", consent: "Household signed consent", note: "Note", dismiss: "Dismiss", reason: "Reason",
    confirm: "Confirm (county)", category: "Category", unstable_exited: "unstable exited", marginal: "marginal",
    sudden_hardship: "sudden hardship", measure: "Record assistance", type: "Type", amount: "Amount (yuan)",
    date: "Date", start_assist: "Start assistance", resolve: "Risk eliminated", submit: "Submit", back: "Back to inbox",
    measures: "Measures", visit_done: "Home visit", no_actions: "No action of yours applies in this status",
    done: "Saved", board_title: "Clear-the-list board", township: "Township", total: "Total", export: "Export ledger",
    by_status: "By status", score: "score", readonly: "read only", unit_yuan: "yuan", industry: "industry",
    employment: "employment", medical_assistance: "medical assistance", minimum_living_allowance: "minimum living allowance",
    extreme_poverty_support: "extreme poverty support", temporary_relief: "temporary relief", education_aid: "education aid",
    housing: "housing", other: "other", session_ended: "Session ended, please log in again", loading: "Loading…",
    assignee: "Assignee", household_missing: "No scores for this household yet", open_cases: "open cases", forbidden: "This record is outside your jurisdiction", not_found: "No such record", ch_raised: "warning raised",
    ch_reopened: "reopened", ch_evidence_added: "new evidence", ch_escalated: "level raised", ch_measure_added: "measure recorded",
    "ch_reminder:home_visit": "home visit due soon", "ch_reminder:decision": "decision due soon",
    "ch_overdue:home_visit": "home visit overdue", "ch_overdue:decision": "decision overdue",
    region: "Region", region_hint: "name, pinyin initials or code", no_match: "No matching region",
    whole_country: "whole country", users: "Users", create_user: "Create user", role: "Role", active: "active",
    disabled: "disabled", township_worker: "township worker", county_supervisor: "county supervisor",
    analyst: "analyst", admin: "admin", created: "Created", pick_region: "Choose the jurisdiction from the suggestions",
  },
};
let LANG = localStorage.getItem("shouwang.lang") || "zh";
function t(key) { return (WORDS[LANG] && WORDS[LANG][key]) || key; }
function setLang(lang) {
  LANG = lang;
  localStorage.setItem("shouwang.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  document.getElementById("lang").textContent = lang === "zh" ? "EN" : "中文";
}
