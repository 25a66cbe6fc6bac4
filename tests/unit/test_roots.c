/* --root's forms (user/record/roots.c): plain and dotted names,
 * MODULE:QUALNAME, NAME@FILE, and what a bad one is. */
#include <string.h>
#include "record/roots.h"
#include "unit.h"

static void plain_and_dotted_names(void)
{
	/* a plain name: the qualname or its last part */
	CHECK(root_matches("predict", "predict", "/srv/app/server.py", 1));
	CHECK(root_matches("predict", "Model.predict", "/srv/app/model.py", 1));
	CHECK(!root_matches("predict", "predict_all", "/srv/app/server.py", 1));
	/* a dotted name: the whole qualname only */
	CHECK(root_matches("Model.predict", "Model.predict", "/srv/m.py", 1));
	CHECK(!root_matches("server.predict", "predict", "/srv/server.py", 1));
}

static void module_form(void)
{
	const char *r = "app.server:predict";

	CHECK(root_matches(r, "predict", "/srv/app/server.py", 3));
	CHECK(root_matches(r, "predict", "/srv/app/server/__init__.py", 3));
	CHECK(root_matches(r, "predict", "app/server.py", 3));
	/* another module, a longer module name, a method of the same name */
	CHECK(!root_matches(r, "predict", "/srv/app/client.py", 3));
	CHECK(!root_matches(r, "predict", "/srv/myapp/server.py", 3));
	CHECK(!root_matches(r, "Model.predict", "/srv/app/server.py", 3));
	CHECK(!root_matches(r, "predict", NULL, 0));
	CHECK(root_matches("app.server:Model.predict", "Model.predict", "/x/app/server.py", 9));
}

static void file_form(void)
{
	CHECK(root_matches("predict@server.py", "predict", "/srv/app/server.py", 1));
	CHECK(root_matches("predict@server.py", "Model.predict", "/srv/app/server.py", 1));
	CHECK(root_matches("predict@app/server.py", "predict", "/srv/app/server.py", 1));
	CHECK(!root_matches("predict@server.py", "predict", "/srv/app/myserver.py", 1));
	CHECK(!root_matches("predict@app/server.py", "predict", "/srv/webapp/server.py", 1));
	CHECK(root_matches("predict@/srv/app/server.py", "predict", "/srv/app/server.py", 1));
}

static void bad_forms(void)
{
	CHECK(root_check("predict") == 0);
	CHECK(root_check("app.server:predict") == 0);
	CHECK(root_check("predict@server.py") == 0);
	CHECK(root_check("") < 0);
	CHECK(root_check(":predict") < 0);
	CHECK(root_check("app:") < 0);
	CHECK(root_check("@server.py") < 0);
	CHECK(root_check("predict@") < 0);
	CHECK(!strcmp(root_name_part("app.server:Model.predict"), "Model.predict"));
	CHECK(!strcmp(root_name_part("predict@server.py"), "predict"));
}

int main(void)
{
	RUN(plain_and_dotted_names);
	RUN(module_form);
	RUN(file_form);
	RUN(bad_forms);
	UNIT_EXIT();
}
