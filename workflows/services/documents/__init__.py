"""Official documents issued from case data: numbered, rendered as PDF, attached to the case.

``numbering`` gives the numbers, ``templates`` holds the wording of each kind, ``render`` lays a
document out as PDF with the bundled CJK font, ``issue`` ties them to a case (the engine's handler).
"""
