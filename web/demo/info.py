"""Demo industry information and enterprise training, made through the same services as the pages."""
from datetime import date, timedelta

from sqlalchemy import select

from models import User
from workflows.services import industry_info, training_records


def _user(s, username) -> User:
    return s.scalar(select(User).where(User.username == username))


def seed_demo_info(s) -> None:
    """Two published policies and an announcement; two training sessions and a publicity activity of the
    柯桥 bottled gas company. The caller commits (and keeps it idempotent)."""
    admin, supervisor = _user(s, "admin"), _user(s, "keqiao_supervisor")
    items = [
        (admin, {"category": "policy", "title": "城镇燃气管理条例", "doc_number": "国务院令第583号", "county_id": None,
                 "body": "第一条 为了加强城镇燃气管理，保障燃气供应，防止和减少燃气安全事故，"
                         "保障公民生命、财产安全和公共安全，维护燃气经营者和燃气用户的合法权益，"
                         "促进燃气事业健康发展，制定本条例。\n\n"
                         "第二条 城镇燃气发展规划与应急保障、燃气经营与服务、燃气使用、燃气设施保护、"
                         "燃气安全事故预防与处理及相关管理活动，适用本条例。"}),
        (admin, {"category": "policy", "title": "绍兴市瓶装燃气安全管理办法", "doc_number": "绍市建〔2026〕12号",
                 "county_id": None,
                 "body": "为规范本市瓶装燃气经营行为，落实企业安全生产主体责任，"
                         "推行气瓶智能角阀和实名制配送，制定本办法。\n\n"
                         "瓶装燃气经营企业应当建立用户档案，对配送人员开展岗前培训，考核合格后方可上岗。"}),
        (supervisor, {"category": "announcement", "title": "柯桥区 2026 年冬季燃气安全大检查的公告",
                      "body": "自即日起至 2027 年 2 月底，区综合行政执法局对辖区燃气经营企业开展冬季安全大检查，"
                              "重点检查储配站、供应站和配送车辆。请各企业做好自查并配合检查。"}),
    ]
    for author, fields in items:
        item = industry_info.create_item(s, author, dict(fields), [])
        industry_info.transition(s, item, "publish")
    staff = _user(s, "kq_bottled_admin")
    today = date.today()
    training_records.record_session(s, staff, {
        "name": "2026 年第四季度全员安全培训", "held_on": today - timedelta(days=20),
        "topic": "液化气钢瓶充装与配送安全",
        "trainer": "区燃气协会 何工", "assessment": "闭卷考试 + 实操"}, [
        {"name": "张华", "position": "送气工", "result": "qualified"},
        {"name": "李强", "position": "送气工", "result": "qualified"},
        {"name": "王芳", "position": "充装工", "result": "unqualified"}])
    training_records.record_session(s, staff, {
        "name": "新员工岗前培训", "held_on": today - timedelta(days=75), "topic": "燃气泄漏应急处置",
        "trainer": "", "assessment": "实操考核"}, [
        {"name": "赵磊", "position": "送气工", "result": "qualified"}])
    training_records.record_publicity(s, staff, {
        "activity": "燃气安全进社区", "kind": "campaign", "held_on": today - timedelta(days=10),
        "audience": "华舍街道居民", "audience_count": 120, "materials": "宣传折页 200 份，燃气安全使用海报 10 张"})
