"""pybrowserml works from a PyScript page too, with PyScript and Pyodide served locally."""

import re


def test_pyscript_page_installs_the_wheel_and_trains(browser):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(browser.server.url("/web/demo/pyscript.html"))
        page.wait_for_function("document.getElementById('result').textContent.includes('learned')", timeout=90_000)
        text = page.text_content("#result")
    finally:
        page.close()
    blocked, browser.blocked_requests[:] = list(browser.blocked_requests), []
    assert not errors, errors
    assert not blocked, f"PyScript page reached for the network: {blocked}"
    learned = [float(v) for v in re.findall(r"-?\d+\.\d+", text.split("=")[1])]
    assert learned == [1.5, -2.0, 0.5]
