"""The wording of each kind of document, as data: blocks of text with ``{placeholders}`` filled
from the case (see ``issue.context``). A block is (style, text); ``render`` knows the styles.

Styles: ``title`` (centred, large), ``number`` (centred), ``addressee`` (flush left, ends with ：),
``heading`` (flush left, bold), ``para`` (first line indented two characters), ``signature``
(flush right: the authority, then the date), ``space`` (a blank line).
"""
from dataclasses import dataclass

RECTIFICATION_NOTICE = "rectification_notice"
PENALTY_DECISION = "penalty_decision"
PENALTY_FILING = "penalty_filing"
PENALTY_NOTICE = "penalty_notice"
HEARING_NOTICE = "hearing_notice"
HEARING_POSTPONEMENT = "hearing_postponement"
PENALTY_REMINDER = "penalty_reminder"
PENALTY_CLOSING = "penalty_closing"
RECTIFICATION_REVIEW = "rectification_review"

HAZARD_CLASSES = {"I": "一类", "II": "二类", "III": "三类"}
PENALTY_TYPES = {"warning": "警告", "fine": "罚款", "confiscation": "没收违法所得",
                 "suspension": "责令停业整顿", "revocation": "吊销许可证"}


@dataclass(frozen=True)
class DocumentKind:
    key: str
    title: str
    prefix: str  # of the number: 绍燃整〔2026〕第0001号
    blocks: tuple[tuple[str, str], ...]
    # Addressed to the party (served on the enterprise), or the authority's own record (an approval
    # form, a closing report), which the enterprise never sees.
    addressed: bool = True
    # A case has one document of a kind, issued again (a send-back) under its number; a repeatable kind is a
    # new document, with a number of its own, each time (a hearing postponed twice: two notices, both served).
    repeatable: bool = False
    # What the party's people are told on the platform when it is issued, in the document's placeholders; none for a
    # document whose step gives them a task of their own (the prior notice: its defence) or that is served otherwise.
    tell_party: str = ""


# How every document ends: the case's number, the issuing authority and the date.
_SIGNED = (("para", "案卷编号：{case_id}"), ("space", ""), ("signature", "{authority}"), ("signature", "{date}"))
# What a notice of a hearing tells the party (art. 64): who attends, the right to challenge the presiding officer,
# and that staying away waives the hearing.
_ATTEND_THE_HEARING = ("para", "请你单位法定代表人或者委托代理人（持授权委托书）按时参加。"
                               "你单位认为主持人与本案有直接利害关系的，有权申请回避。"
                               "无正当理由拒不出席听证或者未经许可中途退出听证的，视为放弃听证权利。")

KINDS = {
    RECTIFICATION_NOTICE: DocumentKind(
        key=RECTIFICATION_NOTICE, title="整改通知书", prefix="绍燃整",
        blocks=(
            ("title", "{authority}"),
            ("title", "责令限期整改通知书"),
            ("number", "{number}"),
            ("addressee", "{enterprise}："),
            ("para", "统一社会信用代码：{uscc}"),
            ("para", "地址：{address}"),
            ("para", "经检查，你单位存在下列燃气安全隐患（{hazard_class}隐患）："),
            ("para", "{hazard_description}"),
            ("heading", "一、依据"),
            ("para", "依据《城镇燃气管理条例》《浙江省燃气管理条例》及《城镇燃气管理平台数字化建设规范》"
                     "（DB3306/T 046-2022）的规定，现责令你单位限期整改。"),
            ("heading", "二、整改要求和期限"),
            ("para", "请你单位于{deadline}前整改完毕，整改期间应采取必要的安全防范措施，并通过燃气管理平台"
                     "提交整改情况及佐证材料（照片、记录等）。"),
            ("para", "逾期未整改或者整改不合格的，本机关将依法立案查处。"),
            *_SIGNED,
        )),
    RECTIFICATION_REVIEW: DocumentKind(
        key=RECTIFICATION_REVIEW, title="整改复查意见书", prefix="绍燃复",
        blocks=(
            ("title", "{authority}"),
            ("title", "整改复查意见书"),
            ("number", "{number}"),
            ("addressee", "{enterprise}："),
            ("para", "统一社会信用代码：{uscc}"),
            ("para", "地址：{address}"),
            ("para", "本机关于{notice_date}以{notice_number}责令你单位对下列燃气安全隐患（{hazard_class}隐患）"
                     "限期整改："),
            ("para", "{hazard_description}"),
            ("heading", "一、复查情况"),
            ("para", "复查日期：{reinspected_on}；复查人员：{reinspector}。"),
            ("para", "{reinspection_findings}"),
            ("heading", "二、复查意见"),
            ("para", "经复查，你单位已按要求完成整改，该隐患予以销号。你单位应当巩固整改成果，"
                     "落实日常安全管理，防止同类隐患再次发生。"),
            *_SIGNED,
        )),
    PENALTY_DECISION: DocumentKind(
        key=PENALTY_DECISION, title="行政处罚决定书", prefix="绍燃罚",
        blocks=(
            ("title", "{authority}"),
            ("title", "行政处罚决定书"),
            ("number", "{number}"),
            ("addressee", "当事人：{enterprise}"),
            ("para", "统一社会信用代码：{uscc}"),
            ("para", "地址：{address}"),
            ("heading", "一、违法事实"),
            ("para", "{facts}"),
            ("para", "{findings}"),
            ("para", "{evidence}"),
            ("para", "{defence}"),
            ("heading", "二、法律依据"),
            ("para", "{legal_basis}"),
            ("heading", "三、处罚决定"),
            ("para", "本机关决定对你单位给予如下行政处罚：{penalty}。"),
            ("para", "{payment}"),
            ("heading", "四、救济途径"),
            ("para", "如不服本处罚决定，可以在收到本决定书之日起六十日内向{review_body}申请行政复议，"
                     "也可以在六个月内依法向人民法院提起行政诉讼。行政复议或者行政诉讼期间，本处罚决定不停止执行，"
                     "法律另有规定的除外。"),
            *_SIGNED,
        )),
    PENALTY_FILING: DocumentKind(
        key=PENALTY_FILING, title="立案审批表", prefix="绍燃立", addressed=False,
        blocks=(
            ("title", "{authority}"),
            ("title", "行政处罚立案审批表"),
            ("number", "{number}"),
            ("para", "当事人：{enterprise}（统一社会信用代码：{uscc}）"),
            ("para", "地址：{address}"),
            ("para", "案件来源：{source}"),
            ("para", "发现时间：{discovered}"),
            ("heading", "一、案情摘要"),
            ("para", "{facts}"),
            ("heading", "二、立案依据"),
            ("para", "依据《中华人民共和国行政处罚法》第五十四条，拟立案调查。立案期限：{filing_due}前。"),
            ("heading", "三、负责人审批意见"),
            ("para", "（在燃气管理平台审批，意见及时间记入案卷。）"),
            *_SIGNED,
        )),
    PENALTY_NOTICE: DocumentKind(
        key=PENALTY_NOTICE, title="行政处罚事先告知书", prefix="绍燃告",
        blocks=(
            ("title", "{authority}"),
            ("title", "行政处罚事先告知书"),
            ("number", "{number}"),
            ("addressee", "{enterprise}："),
            ("para", "经调查，你单位存在下列违法事实："),
            ("para", "{facts}"),
            ("para", "{findings}"),
            ("para", "上述事实有以下证据证明：{evidence}"),
            ("para", "依据{notified_basis}，本机关拟对你单位作出如下行政处罚：{notified_penalty}。"),
            ("para", "根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，你单位有权进行陈述和申辩。"
                     "请于{defence_due}前通过燃气管理平台提出陈述、申辩意见；逾期未提出的，视为放弃上述权利。"
                     "本机关不因你单位的陈述、申辩而给予更重的处罚。"),
            ("para", "{hearing_right}"),
            *_SIGNED,
        )),
    HEARING_NOTICE: DocumentKind(
        key=HEARING_NOTICE, title="行政处罚听证通知书", prefix="绍燃听",
        tell_party="听证通知：本机关定于{hearing_at}在{hearing_place}举行听证，听证主持人：{presiding}。"
                   "详见《行政处罚听证通知书》（{number}）。",
        blocks=(
            ("title", "{authority}"),
            ("title", "行政处罚听证通知书"),
            ("number", "{number}"),
            ("addressee", "{enterprise}："),
            ("para", "根据你单位的申请，依据《中华人民共和国行政处罚法》第六十四条的规定，本机关定于{hearing_at}在"
                     "{hearing_place}就拟对你单位作出的行政处罚（{notified_penalty}）举行听证，听证主持人：{presiding}。"),
            _ATTEND_THE_HEARING,
            *_SIGNED,
        )),
    HEARING_POSTPONEMENT: DocumentKind(
        key=HEARING_POSTPONEMENT, title="延期举行听证通知书", prefix="绍燃延听", repeatable=True,
        tell_party="听证延期举行：改于{hearing_at}在{hearing_place}举行，听证主持人：{presiding}。"
                   "详见《延期举行听证通知书》（{number}）。",
        blocks=(
            ("title", "{authority}"),
            ("title", "延期举行听证通知书"),
            ("number", "{number}"),
            ("addressee", "{enterprise}："),
            ("para", "本机关原定于{postponed_from}就拟对你单位作出的行政处罚（{notified_penalty}）举行的听证，"
                     "因{postponement_reason}，决定延期举行。"),
            ("para", "依据《中华人民共和国行政处罚法》第六十四条的规定，现定于{hearing_at}在{hearing_place}举行听证，"
                     "听证主持人：{presiding}。"),
            _ATTEND_THE_HEARING,
            *_SIGNED,
        )),
    PENALTY_REMINDER: DocumentKind(
        key=PENALTY_REMINDER, title="催告书", prefix="绍燃催",
        blocks=(
            ("title", "{authority}"),
            ("title", "履行行政处罚决定催告书"),
            ("number", "{number}"),
            ("addressee", "{enterprise}："),
            ("para", "本机关于{decided}作出的行政处罚决定（{decision_number}），已于{served}送达你单位。"
                     "你单位应于{payment_due}前缴纳罚款人民币{decided_amount}元，至今未履行。"),
            ("para", "依据《中华人民共和国行政处罚法》第七十二条，每日按罚款数额的百分之三加处罚款，加处罚款的数额"
                     "不超出罚款的数额。截至本催告书作出之日，已逾期{days_late}日，加处罚款人民币{surcharge}元。"),
            ("para", "依据《中华人民共和国行政强制法》第五十四条，现催告你单位于收到本催告书之日起{court_period}内"
                     "履行上述义务。你单位有权进行陈述和申辩。逾期仍不履行的，本机关将依法申请人民法院强制执行。"),
            *_SIGNED,
        )),
    PENALTY_CLOSING: DocumentKind(
        key=PENALTY_CLOSING, title="结案报告", prefix="绍燃结", addressed=False,
        blocks=(
            ("title", "{authority}"),
            ("title", "行政处罚结案报告"),
            ("number", "{number}"),
            ("para", "当事人：{enterprise}（统一社会信用代码：{uscc}）"),
            ("para", "立案时间：{filed}；处罚决定：{decision_number}，{decided}作出，{served}送达。"),
            ("para", "处罚内容：{penalty}。"),
            ("para", "执行情况：{execution}"),
            ("heading", "一、结案意见"),
            ("para", "{close_summary}"),
            ("heading", "二、卷内文书目录"),
            ("para", "{archive}"),
            *_SIGNED,
        )),
}

# How a fine is to be paid, and what not paying it brings (《行政处罚法》第七十二条).
PAYMENT_FINE = ("罚款人民币{amount}元，请自收到本决定书之日起十五日内缴至指定银行或者通过电子支付系统缴纳。"
                "逾期不缴纳的，每日按罚款数额的百分之三加处罚款，并依法申请人民法院强制执行。")
PAYMENT_NONE = "请你单位自收到本决定书之日起十五日内履行本处罚决定。"
