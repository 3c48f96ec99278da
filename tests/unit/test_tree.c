// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tree's lookups that record where each component sits, and the
 * copy-on-write walk that follows those indices instead of searching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tree.h"

static const struct perm p0 = {0, 0};

static struct node *
leaf(const char *name)
{
	struct node *n = node_new(name, strlen(name), &p0, 1, "", 0, 1);

	assert_non_null(n);
	return n;
}

/* Adds a child called name under parent, in order; returns it. */
static struct node *
add(struct node *parent, const char *name)
{
	long pos = node_child_find(parent, name, strlen(name));
	struct node *c = leaf(name);

	assert_true(pos < 0);
	assert_int_equal(node_insert_child(parent, -pos - 1, c), 0);
	return c;
}

/* / with a/{b,d,f}/{x,z} and c */
static struct node *
sample(void)
{
	struct node *root = leaf(""), *a, *c;
	const char *kids[] = {"f", "b", "d"};
	size_t i;

	a = add(root, "a");
	add(root, "c");
	for (i = 0; i < 3; i++) {
		c = add(a, kids[i]);
		add(c, "z");
		add(c, "x");
	}
	return root;
}

static void
test_lookup_idx(void **state)
{
	struct node *root = sample();
	const struct node *n, *deep;
	struct tree_path tp;
	uint32_t idx[8];
	unsigned int k;

	/* Found: the index of each component in its parent. */
	assert_int_equal(tree_path_split(&tp, "/a/d/z"), 0);
	n = tree_lookup_idx(root, &tp, &deep, &k, idx);
	assert_non_null(n);
	assert_ptr_equal(n, deep);
	assert_int_equal(k, 3);
	assert_int_equal(idx[0], 0); /* a of a, c */
	assert_int_equal(idx[1], 1); /* d of b, d, f */
	assert_int_equal(idx[2], 1); /* z of x, z */
	assert_ptr_equal(n, tree_lookup(root, &tp));

	/* Missing: where the first missing component would go. */
	assert_int_equal(tree_path_split(&tp, "/a/e/q"), 0);
	n = tree_lookup_idx(root, &tp, &deep, &k, idx);
	assert_null(n);
	assert_int_equal(k, 1);
	assert_string_equal(node_name(deep), "a");
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 2); /* between d and f */

	assert_int_equal(tree_path_split(&tp, "/0"), 0);
	assert_null(tree_lookup_idx(root, &tp, &deep, &k, idx));
	assert_int_equal(k, 0);
	assert_ptr_equal(deep, root);
	assert_int_equal(idx[0], 0);

	/* The root itself. */
	assert_int_equal(tree_path_split(&tp, "/"), 0);
	assert_ptr_equal(tree_lookup_idx(root, &tp, NULL, &k, idx), root);
	assert_int_equal(k, 0);
	node_unref(root);
}

static void
test_mut_path_idx_copies_shared(void **state)
{
	struct node *root = sample(), *snap = node_ref(root);
	struct node **slots[8];
	const struct node *n, *old;
	struct tree_path tp;
	uint32_t idx[8];
	unsigned int k;

	assert_int_equal(tree_path_split(&tp, "/a/f/x"), 0);
	old = tree_lookup_idx(root, &tp, NULL, &k, idx);
	assert_non_null(old);
	assert_int_equal(tree_mut_path_idx(&root, idx, k, slots), 3);
	/* A snapshot held the nodes: the path was copied, not searched. */
	assert_ptr_not_equal(root, snap);
	assert_ptr_equal(slots[0], &root);
	n = *slots[3];
	assert_ptr_not_equal(n, old);
	assert_string_equal(node_name(n), "x");
	assert_string_equal(node_name(*slots[2]), "f");
	assert_string_equal(node_name(*slots[1]), "a");
	assert_int_equal(n->ref, 1);
	/* The copy is found where the lookup says, the snapshot unchanged. */
	assert_ptr_equal(tree_lookup(root, &tp), n);
	assert_ptr_equal(tree_lookup(snap, &tp), old);
	/* Siblings off the path stay shared. */
	assert_ptr_equal(root->child[1], snap->child[1]);

	/* Unique already: nothing is copied. */
	old = root;
	assert_int_equal(tree_mut_path_idx(&root, idx, k, slots), 3);
	assert_ptr_equal(root, old);
	assert_ptr_equal(*slots[3], n);

	/* A prefix only (the parent of a missing node). */
	assert_int_equal(tree_path_split(&tp, "/c/new"), 0);
	assert_null(tree_lookup_idx(root, &tp, NULL, &k, idx));
	assert_int_equal(k, 1);
	assert_int_equal(tree_mut_path_idx(&root, idx, k, slots), 1);
	assert_string_equal(node_name(*slots[1]), "c");
	assert_int_equal(node_insert_child(*slots[1], idx[1], leaf("new")), 0);
	assert_non_null(tree_lookup(root, &tp));
	assert_null(tree_lookup(snap, &tp));
	node_unref(snap);
	node_unref(root);
}

static void
test_split_failure_is_releasable(void **state)
{
	/* TREE_MAX_DEPTH + 1 components "/a", then the NUL. */
	static char deep[2 * (TREE_MAX_DEPTH + 1) + 1];
	struct tree_path tp;
	size_t i;

	for (i = 0; i + 2 < sizeof(deep); i += 2) {
		deep[i] = '/';
		deep[i + 1] = 'a';
	}
	assert_int_equal(tree_path_split(&tp, deep), -1);
	tree_path_done(&tp);
	assert_int_equal(tp.depth, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_idx),
		cmocka_unit_test(test_mut_path_idx_copies_shared),
		cmocka_unit_test(test_split_failure_is_releasable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
