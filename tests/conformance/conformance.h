/* mtk-conformance: runs the vector suites of shared/conformance.  Each suite
 * prints one line per failing case and ends with "N passed, M failed";
 * it returns 0 only when M is 0 (2 on a usage or file error). */
#ifndef MTK_TESTS_CONFORMANCE_H
#define MTK_TESTS_CONFORMANCE_H

int mtk_conf_interpolation(int argc, char **argv);     /* interpolation FILE */
int mtk_conf_dotenv(int argc, char **argv);            /* dotenv FILE */
int mtk_conf_compose(int argc, char **argv);           /* compose [--mtk PATH] DIR|CASE... */
int mtk_conf_dockerfile_shell(int argc, char **argv);  /* dockerfile-shell FILE */
int mtk_conf_dockerfile_words(int argc, char **argv);  /* dockerfile-words FILE */
int mtk_conf_dockerignore(int argc, char **argv);      /* dockerignore FILE */
int mtk_conf_dockerfile_parser(int argc, char **argv); /* dockerfile-parser DIR... */

#endif
