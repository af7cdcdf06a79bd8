"""Write the default letter templates (告知书) to config/letters/<kind>.docx.

The templates are Word documents with Jinja tags (docxtpl): an administrator edits the wording,
the letterhead and the layout in Word and keeps the tags. Rerun this only to start again from
the defaults (it overwrites the files). The tags each template may use are listed in
services/casefile/letters.py (`context`).

    .venv/bin/python scripts/letter_templates.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

OUT = Path(__file__).resolve().parent.parent / "config" / "letters"

# kind → (title, body paragraphs). Paragraphs starting with "{%p" are docxtpl paragraph tags.
BODIES: dict[str, tuple[str, list[str]]] = {
    "acceptance": (
        "投诉受理告知书",
        [
            "您于 {{ received_on }} 向我司提出的投诉 (编号 {{ number }}) 已于 {{ accepted_on }} "
            "受理, 由 {{ owner_name }} 负责办理。",
            "依照《银行业保险业消费投诉处理管理办法》第十八条, 我司将在收到投诉之日起 15 日内"
            "作出处理决定并告知您 (最迟 {{ decision_due_on }}); 情况复杂的, 可延长至 30 日, "
            "特殊情况下延长至 60 日, 届时将另行告知。",
            "办理期间如需补充材料或有疑问, 请致电 {{ letterhead.phone }}。",
        ],
    ),
    "extension": (
        "延长处理期限告知书",
        [
            "您的投诉 (编号 {{ number }}, 收到日期 {{ received_on }}) 因 {{ extension_reason }}, "
            "依照《银行业保险业消费投诉处理管理办法》第十八条, 处理期限延长至收到投诉之日起 "
            "{{ extension_days }} 日, 即 {{ decision_due_on }} 前作出处理决定并告知您。",
            "由此给您带来的不便, 敬请谅解。如有疑问, 请致电 {{ letterhead.phone }}。",
        ],
    ),
    "appraisal": (
        "暂停处理期限告知书",
        [
            "您的投诉 (编号 {{ number }}) 需由 {{ appraisal_body }} 进行鉴定、检测或评估, "
            "自 {{ appraisal_on }} 起所需时间不计入处理期限, 鉴定等完成后我司将继续办理"
            "并及时告知您结果。",
            "如有疑问, 请致电 {{ letterhead.phone }}。",
        ],
    ),
    "decision": (
        "投诉处理决定告知书",
        [
            "您于 {{ received_on }} 提出的投诉 (编号 {{ number }}), 我司已依照《银行业保险业"
            "消费投诉处理管理办法》第十九条调查核实完毕, 现将处理决定告知如下:",
            "一、核实的情况: {{ facts }}",
            "二、处理依据: {{ basis }}",
            "三、处理决定及理由: {{ reasons }}",
            "四、如您对本处理决定有异议, 可通过以下途径解决:",
            "{%p for r in remedies %}",
            "{{ loop.index }}. {{ r.label }}: {{ r.text }}",
            "{%p endfor %}",
            "本决定由 {{ deciding_institution }} 作出, 于 {{ decided_on }} 形成。",
        ],
    ),
    "decline": (
        "不予办理告知书",
        [
            "您于 {{ received_on }} 提出的投诉 (编号 {{ number }}), 经核实, {{ decline_ground }}"
            "。依照《银行业保险业消费投诉处理管理办法》第十八条第四款, 我司不予办理。",
            "{{ decline_explanation }}",
            "如有疑问, 请致电 {{ letterhead.phone }}。",
        ],
    ),
    "review": (
        "核查结论告知书",
        [
            "您就投诉 (编号 {{ number }}) 的处理决定提出的核查申请, 已由上级机构依照《银行业"
            "保险业消费投诉处理管理办法》第二十条核查完毕。",
            "核查结论: {{ review_conclusion }}",
            "如您仍有异议, 可依法申请调解、仲裁或向人民法院提起诉讼。",
        ],
    ),
    "mediation": (
        "调解转介告知书",
        [
            "您的投诉 (编号 {{ number }}) 经双方同意, 转由 {{ mediation_organisation }} "
            "({{ mediation_channel }}) 进行调解。调解期间不计入处理期限 (《银行业保险业消费"
            "投诉处理管理办法》第二十三、二十四条)。",
            "调解组织将与您联系; 如有疑问, 请致电 {{ letterhead.phone }}。",
        ],
    ),
}


def _font(run: object, size: float, bold: bool = False) -> None:
    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    run.font.name = "宋体"  # type: ignore[attr-defined]
    run._element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # type: ignore[attr-defined]


def build(kind: str, title: str, body: list[str]) -> Path:
    doc = Document()
    for text, size, bold in (
        ("{{ letterhead.institution }}", 16, True),
        ("{{ letterhead.address }}  电话 {{ letterhead.phone }}", 10, False),
    ):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(p.add_run(text), size, bold)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run(title), 18, True)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _font(p.add_run("编号: {{ number }}"), 10)
    _font(doc.add_paragraph().add_run("{{ complainant.name }}:"), 12)
    for text in body:
        p = doc.add_paragraph()
        _font(p.add_run(text), 12)
        if not text.startswith("{%"):
            p.paragraph_format.first_line_indent = Pt(24)
    for text in ("", "{{ letterhead.institution }}", "({{ seal }})", "{{ today }}"):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(p.add_run(text), 12)
    p = doc.add_paragraph()
    _font(p.add_run("送达地址: {{ complainant.address }}"), 9)
    path = OUT / f"{kind}.docx"
    doc.save(str(path))
    return path


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for kind, (title, body) in BODIES.items():
        print(build(kind, title, body))
