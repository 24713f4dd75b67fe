"""The wording of each kind of document, as data: blocks of text with ``{placeholders}`` filled
from the case (see ``issue.context``). A block is (style, text); ``render`` knows the styles.

Styles: ``title`` (centred, large), ``number`` (centred), ``addressee`` (flush left, ends with ：),
``heading`` (flush left, bold), ``para`` (first line indented two characters), ``signature``
(flush right: the authority, then the date), ``space`` (a blank line).
"""
from dataclasses import dataclass

RECTIFICATION_NOTICE = "rectification_notice"
PENALTY_DECISION = "penalty_decision"
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
            ("para", "案卷编号：{case_id}"),
            ("space", ""),
            ("signature", "{authority}"),
            ("signature", "{date}"),
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
            ("para", "案卷编号：{case_id}"),
            ("space", ""),
            ("signature", "{authority}"),
            ("signature", "{date}"),
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
            ("heading", "二、法律依据"),
            ("para", "{legal_basis}"),
            ("heading", "三、处罚决定"),
            ("para", "本机关决定对你单位给予如下行政处罚：{penalty}。"),
            ("para", "{payment}"),
            ("heading", "四、救济途径"),
            ("para", "如不服本处罚决定，可以在收到本决定书之日起六十日内向绍兴市人民政府申请行政复议，"
                     "也可以在六个月内依法向人民法院提起行政诉讼。行政复议或者行政诉讼期间，本处罚决定不停止执行，"
                     "法律另有规定的除外。"),
            ("para", "案卷编号：{case_id}"),
            ("space", ""),
            ("signature", "{authority}"),
            ("signature", "{date}"),
        )),
}

# How a fine is to be paid, and what not paying it brings (《行政处罚法》第七十二条).
PAYMENT_FINE = ("罚款人民币{amount}元，请自收到本决定书之日起十五日内缴至指定银行或者通过电子支付系统缴纳。"
                "逾期不缴纳的，每日按罚款数额的百分之三加处罚款，并依法申请人民法院强制执行。")
PAYMENT_NONE = "请你单位自收到本决定书之日起十五日内履行本处罚决定。"
