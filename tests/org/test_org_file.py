"""Reading organisation files: YAML and xlsx, every refusal at its place, all at once."""

from __future__ import annotations

import pytest

from engine.errors import OrgFileError
from engine.org.org_file import read_org_file, read_org_text

GOOD = """
departments:
  - {code: hq, name: 总部, managers: [boss]}
  - {code: sales, name: 销售部, parent: hq, managers: [li.ming]}
  - {code: 市场部, name: 市场部, parent: hq}
roles:
  - {code: finance, name: 财务, members: [zhao.min]}
regions:
  - {code: east, name: 华东大区, level: 大区, managers: [li.ming]}
  - {code: hangzhou, name: 杭州, parent: east}
dealers:
  - {code: DL-HZ-001, name: 杭州恒泰商贸, region: hangzhou, sales_rep: li.ming}
  - {code: DL-HZ-001-01, name: 余杭恒泰分销, parent: DL-HZ-001, region: hangzhou, sales_rep: li.ming}
users:
  - {login: boss, name: 周总, department: hq}
  - {login: li.ming, name: 李明, department: sales, departments: [sales, 市场部], mobile: 13805710001, leader: boss, region: east, roles: [finance]}
  - {login: zhao.min, name: 赵敏, department: hq, locale: en, email: zm@example.com}
  - {login: hz.boss, name: 杭州恒泰 王总, kind: external, dealer: DL-HZ-001, active: false}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(OrgFileError) as caught:
        read_org_text(text, "org.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_good_file_reads_into_a_snapshot():
    org = read_org_text(GOOD)
    assert [d.code for d in org.departments] == ["hq", "sales", "市场部"]
    assert org.departments[1].parent == "hq" and org.departments[1].managers == ("li.ming",)
    li = org.users[1]
    assert li.departments == ("sales", "市场部") and li.department == "sales"
    assert li.mobile == "13805710001"  # a plain number kept as written
    assert li.leader == "boss" and li.roles == ("finance",)
    # members listed on the role and roles listed on users come together
    assert org.roles[0].members == ("li.ming", "zhao.min")
    external = org.users[3]
    assert (external.kind, external.dealer, external.active) == ("external", "DL-HZ-001", False)
    assert org.users[0].active is None  # not said: left as stored
    assert org.dealers[1].parent == "DL-HZ-001"


def test_the_example_organisation_reads():
    org = read_org_file("examples/org.yaml")
    assert {r.code for r in org.roles} >= {
        "admin",
        "finance",
        "channel_manager",
        "region_manager",
        "area_director",
        "sales_ops",
        "gm",
        "dealer_admin",
        "dealer_sales",
    }
    assert sum(1 for u in org.users if u.kind == "external") == 5
    assert any(u.leader for u in org.users)


def test_every_problem_is_reported_at_once_with_its_place():
    text = """\
departments:
  - {code: hq, name: 总部, manager: [boss]}
  - {code: a, name: A, parent: b}
  - {code: b, name: B, parent: a}
  - {code: hq, name: 又一个}
  - {code: x, name: X, parent: nowhere, managers: [ghost]}
roles:
  - {code: finance, name: 财务, members: boss}
regions:
  - {code: NO, name: 挪威}
dealers:
  - {code: D1, name: 经销商, sales_rep: nobody}
users:
  - {login: boss, name: 周总, department: hq, departments: [x], leader: boss}
  - {login: hz, name: 杭州, kind: external}
  - {login: in, name: 内部, dealer: D1, kind: internl}
  - {login: "bad login", name: yes}
  - {login: two, name: 两个部门, departments: [hq, x]}
"""
    assert problems(text) == [
        "org.yaml:2:26 departments[0].manager: unknown key 'manager' (did you mean 'managers'?)",
        "org.yaml:3:32 departments[1].parent: the department tree has a cycle: a -> b -> a "
        "(one of them must have another parent (or none))",
        "org.yaml:5:12 departments[3].code: duplicate code 'hq' (already defined at line 2; keep one)",
        "org.yaml:6:32 departments[4].parent: parent department 'nowhere' is not defined in "
        "this file (add it to departments)",
        "org.yaml:6:51 departments[4].managers[0]: user 'ghost' is not defined in this file "
        "(add it to users)",
        "org.yaml:8:40 roles[0].members: expected a list such as [li.ming, wang.fang] (got 'boss')",
        "org.yaml:10:12 regions[0].code: YAML 1.1 reads NO as the boolean false, not as text "
        '(quote it: "NO")',
        "org.yaml:12:38 dealers[0].sales_rep: user 'nobody' is not defined in this file "
        "(add it to users)",
        "org.yaml:14:41 users[0].department: the main department 'hq' is not among the user's "
        "departments [x] (add 'hq' to departments, or leave departments out)",
        "org.yaml:14:71 users[0].leader: a user cannot be their own leader",
        "org.yaml:15:5 users[1]: an external user (a dealer's person) needs exactly one dealer "
        "(add dealer: <dealer code>)",
        "org.yaml:16:35 users[2].dealer: an internal user belongs to no dealer "
        "(remove dealer, or set kind: external for a dealer's person)",
        "org.yaml:16:45 users[2].kind: expected one of internal, external, got 'internl' "
        "(did you mean 'internal'?)",
        "org.yaml:17:13 users[3].login: 'bad login' is not a valid code (use letters a-z A-Z, "
        "digits, Chinese characters, and _ . - after the first character, at most 64 characters)",
        "org.yaml:17:32 users[3].name: YAML 1.1 reads yes as the boolean true, not as text "
        '(quote it: "yes")',
        "org.yaml:18:43 users[4].departments: a user in several departments needs a main one "
        "(add department: <one of hq, x>)",
    ]


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("DL-HZ-001", True),
        ("li.ming", True),
        ("sales_east", True),
        ("华东销售部", True),
        ("9lives", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("-lead", False),
        (".dot", False),
        ("_under", False),
        ("has space", False),
        ("semi;colon", False),
        ("émile", False),
        ("a/b", False),
    ],
)
def test_code_characters(code, valid):
    text = f'departments:\n  - {{code: "{code}", name: 部门}}\n'
    if valid:
        assert read_org_text(text).departments[0].code == code
    else:
        assert problems(text)[0].startswith("org.yaml:2:12 departments[0].code: ")


def test_unknown_sections_syntax_errors_and_wrong_shapes():
    assert problems("departmens: []\n") == [
        "org.yaml:1:1 departmens: unknown section 'departmens' (did you mean 'departments'?)"
    ]
    assert problems("users: {login: x}\n") == [
        "org.yaml:1:8 users: expected a list of items (- {...})"
    ]
    assert problems("users:\n  - [a]\n") == [
        "org.yaml:2:5 users[0]: expected a mapping such as {code: ..., name: ...}"
    ]
    assert problems("users:\n  - {login: x\n")[0].startswith("org.yaml:")
    assert problems("users:\n  - {login: x}\n") == ["org.yaml:2:5 users[0]: 'name' is required"]
    assert problems("roles:\n  - {code: r, name: ''}\n") == [
        "org.yaml:2:21 roles[0].name: 'name' must not be blank"
    ]


def test_a_cycle_through_a_self_parent_is_refused():
    assert problems("regions:\n  - {code: r, name: R, parent: r}\n") == [
        "org.yaml:2:32 regions[0].parent: the region tree has a cycle: r -> r "
        "(one of them must have another parent (or none))"
    ]


def test_only_yaml_and_xlsx_files(tmp_path):
    path = tmp_path / "org.csv"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(OrgFileError) as caught:
        read_org_file(path)
    assert str(caught.value) == f"{path}: an organisation file is .yaml, .yml or .xlsx"


# -- xlsx -------------------------------------------------------------------------------
def write_book(path, sheets):
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path


def test_an_xlsx_workbook_reads_like_yaml(tmp_path):
    path = write_book(
        tmp_path / "org.xlsx",
        {
            "departments": [
                ["code", "name", "parent", "managers"],
                ["hq", "总部", None, "boss"],
                ["sales", "销售部", "hq", "li.ming，boss"],
            ],
            "roles": [["code", "name", "members"], ["finance", "财务", "li.ming、boss"]],
            "regions": [["code", "name", "parent", "level"], ["east", "华东大区", None, "大区"]],
            "dealers": [
                ["code", "name", "region", "sales_rep", "active"],
                ["DL-1", "恒泰", "east", "li.ming", "否"],
            ],
            "users": [
                ["login", "name", "department", "mobile", "kind", "dealer"],
                ["boss", "周总", "hq", 13805710001, None, None],
                [],
                ["li.ming", "李明", "sales", None, None, None],
                ["hz", "王总", None, None, "external", "DL-1"],
            ],
        },
    )
    org = read_org_file(path)
    assert org.departments[1].managers == ("li.ming", "boss")
    assert org.roles[0].members == ("boss", "li.ming")
    assert org.users[0].mobile == "13805710001"
    assert org.dealers[0].active is False
    assert [u.login for u in org.users] == ["boss", "li.ming", "hz"]


def test_xlsx_problems_name_sheet_row_and_column(tmp_path):
    path = write_book(
        tmp_path / "org.xlsx",
        {
            "departments": [["code", "name", "parnt"], ["hq", "总部", None]],
            "dealers": [["code", "name"], ["D1", "经销商"]],
            "users": [
                ["login", "name", "kind", "dealer"],
                ["a", "A", "internal", None],
                ["b", "B", "external", "D2"],
                ["c", True, None, None],
                ["a", "again", None, None],
                ["d", "D", "internal", "D1"],
            ],
            "staff": [["x"]],
        },
    )
    with pytest.raises(OrgFileError) as caught:
        read_org_file(path)
    assert [str(p) for p in caught.value.problems] == [
        "sheet 'departments' row 1 column C: unknown column 'parnt' (did you mean 'parent'?)",
        "sheet 'users' row 3 column 'dealer': dealer 'D2' is not defined in this file "
        "(add it to dealers)",
        "sheet 'users' row 4 column 'name': expected text, got the boolean TRUE "
        '(quote it: "TRUE")',
        "sheet 'users' row 5 column 'login': duplicate login 'a' (already defined at row 2; keep one)",
        "sheet 'users' row 6 column 'dealer': an internal user belongs to no dealer "
        "(remove dealer, or set kind: external for a dealer's person)",
        "sheet 'staff': unknown sheet 'staff' (sheets: departments, roles, regions, dealers, users)",
    ]
